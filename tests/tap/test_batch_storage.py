"""BATCH files on object storage: `batch_config.storage.root: s3://bucket/prefix` against a real S3 API.

The S3 API is `moto_server` in a subprocess on localhost (tests/support/s3_support.py): the tap writes through s3fs, and
the test reads every object back with boto3 and compares every row, by key, with what the same tap sends as RECORD
messages (whose counts the simulator's data module checks). A missing bucket, refused credentials, an endpoint
that does not answer and a missing s3fs each end the run before any request to Docker, in one line naming the
setting.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_support import CliRun, closed_port, run_cli
from s3_support import MotoServer, moto_server
from tap_harness import (
    VERSIONED_STREAMS,
    TapOutput,
    catalog_selecting,
    raw_rows_served,
    run_tap,
    run_tap_until_error,
    tap_config,
)

from dockerdvp_simulator import SimConfig
from tap_dockerdvp.errors import ConfigError
from tap_dockerdvp.tap import TapDockerDVP

END = dt.date(2026, 11, 18)  # in the past: every listed timespan is complete for the tap too
BUCKET = "dvp-batches"
BATCH_SIZE = 100  # rows per file at most: several files per stream
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")
CONFIG = SimConfig(
    namespaces=("acme", "globex"),
    extension_namespaces=("acme",),
    weeks=2,
    rows_per_week=140,
    files_per_timespan=2,
    end_date=END,
    include_partial=False,
)
ENCODINGS = {
    "jsonl-gzip": {"format": "jsonl", "compression": "gzip"},
    "parquet": {"format": "parquet", "compression": "none"},
}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(tmp_path_factory.mktemp("moto")) as server:
        server.create_bucket(BUCKET)
        yield server


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    from dockerdvp_simulator import Simulator

    server = Simulator(CONFIG).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def record_run(sim: Any) -> TapOutput:
    """The same tap, same data, as RECORD messages: what the BATCH files must hold."""
    return run_tap(tap_config(sim))


def s3_config(sim: Any, s3: MotoServer, prefix: str, encoding: dict[str, str], **storage: Any) -> dict[str, Any]:
    return tap_config(
        sim,
        batch_config={
            "encoding": encoding,
            "storage": {"root": f"s3://{BUCKET}/{prefix}", "prefix": "dvp-", "params": s3.params(), **storage},
            "batch_size": BATCH_SIZE,
        },
    )


# -------------------------------------------------------------------------------------------------
# Reading the objects back
# -------------------------------------------------------------------------------------------------
def read_rows(url: str, body: bytes, encoding: str) -> list[dict[str, Any]]:
    if encoding == "parquet":
        import pyarrow.parquet as pq

        return [plain(row) for row in pq.read_table(io.BytesIO(body)).to_pylist()]
    assert body[:2] == b"\x1f\x8b", f"{url} is not gzip"
    return [plain(json.loads(line)) for line in gzip.decompress(body).decode().splitlines()]


def plain(value: Any) -> Any:
    """A value as a JSON record holds it: RFC 3339 text for timestamps, ISO dates; null object members dropped
    (a parquet struct column has every key any row of its file has)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str) and RFC3339_UTC.match(value):  # one spelling per instant: ".000000Z" is "Z"
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, dt.datetime):
        assert value.utcoffset() == dt.timedelta(0), value
        fraction = f".{value.microsecond:06d}" if value.microsecond else ""
        return value.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def keyed(rows: list[dict[str, Any]], keys: list[str]) -> dict[tuple, dict[str, Any]]:
    out: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        assert key not in out, f"key {key} twice"
        out[key] = row
    return out


# -------------------------------------------------------------------------------------------------
# Every row, on S3
# -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_the_s3_objects_hold_exactly_the_rows(sim: Any, s3: MotoServer, record_run: TapOutput, encoding: str) -> None:
    expected_events = raw_rows_served(CONFIG)
    assert len(record_run.records["pull_events"]) == expected_events > 2 * BATCH_SIZE

    prefix = f"runs/{encoding}"
    config = s3_config(sim, s3, prefix, ENCODINGS[encoding])
    streams = sorted(record_run.records)
    out = run_tap(config, catalog=catalog_selecting(config, streams))
    assert out.versioned_records_only(), "BATCH mode sent RECORD messages of a stream without versions"

    batches = [m for m in out.messages if m["type"] == "BATCH"]
    manifests: dict[str, str] = {}  # object URL -> stream
    for message in batches:
        assert message["encoding"]["format"] == ENCODINGS[encoding]["format"], message
        for url in message["manifest"]:
            assert url.startswith(f"s3://{BUCKET}/{prefix}/dvp-"), url
            assert url not in manifests, f"{url} in two manifests"
            manifests[url] = message["stream"]

    objects = s3.objects(BUCKET, prefix + "/")
    # the manifests name exactly the objects: none missing, none left over (the storage probe was deleted)
    assert sorted(objects) == sorted(manifests)

    schemas = out.schemas()
    rows: dict[str, list[dict[str, Any]]] = {}
    for url, body in objects.items():
        file_rows = read_rows(url, body, encoding)
        assert 0 < len(file_rows) <= BATCH_SIZE, (url, len(file_rows))
        rows.setdefault(manifests[url], []).extend(file_rows)
    assert not set(rows) & VERSIONED_STREAMS
    rows.update(out.records)

    assert sorted(rows) == streams
    assert len(rows["pull_events"]) == expected_events
    for stream in streams:
        keys = schemas[stream]["key_properties"]
        written = keyed([plain(r) for r in rows[stream]], keys)
        sent = keyed([plain(r) for r in record_run.records[stream]], keys)
        assert written.keys() == sent.keys(), f"{stream}: the S3 objects' keys differ from the RECORD messages'"
        different = [k for k in sent if written[k] != sent[k]]
        assert not different, (
            f"{stream}: {len(different)} rows differ, e.g. {written[different[0]]} != {sent[different[0]]}"
        )

    # the bookmarks move as far as in a RECORD run
    partitions = out.final_state["bookmarks"]["timespans"]["partitions"]
    assert partitions == record_run.final_state["bookmarks"]["timespans"]["partitions"]
    assert len(partitions) == 2 * len(CONFIG.namespaces)  # (namespace, weeks|months)


def test_setting_the_s3_storage_through_meltano_names_and_env(sim: Any, s3: MotoServer, tmp_path: Path) -> None:
    """`batch_config.storage.params` is one object setting: the tap takes it from the JSON of its environment
    variable, as Meltano passes it (kind `object`), and writes there."""
    config = tap_config(sim, namespaces=["acme"])
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_selecting(config, ["timespans"])))
    env = {
        "TAP_DOCKERDVP_BATCH_CONFIG": json.dumps(
            {
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": f"s3://{BUCKET}/from-env", "prefix": "ns-", "params": s3.params()},
            }
        ),
    }
    run = run_cli("--config", "ENV", "--catalog", catalog, config=config, tmp_path=tmp_path, env=env)
    assert run.code == 0, run.stderr[-3000:]
    manifests = [url for line in run.stdout.splitlines() for url in json.loads(line).get("manifest", [])]
    objects = s3.objects(BUCKET, "from-env/")
    assert sorted(objects) == sorted(manifests) and manifests
    rows = [r for url in manifests for r in read_rows(url, objects[url], "jsonl")]
    assert rows and {r["namespace"] for r in rows} == {"acme"}
    assert s3.params()["secret"] not in run.stderr


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
def test_a_bucket_deleted_while_the_tap_writes_ends_the_run_in_one_line(
    simulator: Any, s3: MotoServer, tmp_path: Path, encoding: str
) -> None:
    """The storage fails after its check passed: the bucket goes once the first batch file is in it. The upload of
    the next file (at its close, through the parquet writer's thread too) ends the run in one line naming the root
    and the storage's own words, no traceback, no credential, and no BATCH message for a file that is not there."""
    import threading

    bucket = f"dvp-vanishing-{encoding}"
    s3.create_bucket(bucket)
    sim = simulator(SimConfig(namespaces=("acme",), weeks=2, rows_per_week=5_000, end_date=END, include_partial=False))
    config = s3_config(sim, s3, "run", ENCODINGS[encoding])
    config["batch_config"]["storage"]["root"] = f"s3://{bucket}/run"
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_selecting(config, ["pull_events"])))
    client, done, deleted = s3.client(), threading.Event(), threading.Event()

    def delete_the_bucket_after_the_first_file() -> None:
        while not done.is_set():
            keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
            if any("probe" not in key for key in keys):
                break
            time.sleep(0.01)
        while not done.is_set():  # files keep coming while the bucket is emptied
            for key in [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]:
                client.delete_object(Bucket=bucket, Key=key)
            try:
                client.delete_bucket(Bucket=bucket)
            except client.exceptions.ClientError:
                continue
            deleted.set()
            return

    watcher = threading.Thread(target=delete_the_bucket_after_the_first_file, daemon=True)
    watcher.start()
    try:
        run = run_cli("--catalog", catalog, config=config, tmp_path=tmp_path)
    finally:
        done.set()
        watcher.join(10)
    assert deleted.is_set(), "the bucket was not deleted while the tap ran: the test proves nothing"
    line = run.assert_fails_in_one_line("`batch_config.storage.root`", f"s3://{bucket}/run", "does not exist")
    assert "NoSuchBucket" in line
    params = s3.params()
    assert params["secret"] not in run.stderr and params["key"] not in run.stderr
    manifests = [url for out in run.stdout.splitlines() for url in json.loads(out).get("manifest", [])]
    assert len(manifests) < 100  # 10,000 rows in files of 100: the run stopped on the way


# -------------------------------------------------------------------------------------------------
# One line, before any request to Docker
# -------------------------------------------------------------------------------------------------
def cli_config(sim: Any, root: str, params: dict[str, Any]) -> dict[str, Any]:
    return tap_config(
        sim,
        batch_config={
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": root, "params": params},
        },
    )


def assert_stopped_before_docker(run: CliRun, sim: Any, *needles: str, secrets: tuple[str, ...] = ()) -> str:
    line = run.assert_fails_in_one_line(*needles)
    assert run.stdout == "", "the tap printed messages before it failed"
    assert sim.stats["requests_total"] == 0, f"the tap called Docker first: {sim.stats['requests']}"
    for secret in secrets:
        assert secret not in run.stderr and secret not in run.stdout
    return line


@pytest.fixture
def quiet_sim(simulator: Any) -> Any:
    """A simulator that counts the requests it gets (none, for these)."""
    return simulator(CONFIG)


def test_a_missing_bucket_is_one_line_naming_the_root(quiet_sim: Any, s3: MotoServer, tmp_path: Path) -> None:
    params = s3.params()
    config = cli_config(quiet_sim, "s3://no-such-bucket/dvp", params)
    run = run_cli(config=config, tmp_path=tmp_path)
    line = assert_stopped_before_docker(
        run,
        quiet_sim,
        "`batch_config.storage.root`",
        "s3://no-such-bucket/dvp",
        "does not exist",
        "NoSuchBucket",
        secrets=(params["secret"], params["key"]),
    )
    assert "probe" not in line  # the user's words: the bucket, not the tap's mechanics
    assert run.seconds < 30
    # at DEBUG the traceback is there, and still no credential (botocore logs every request at DEBUG)
    debug = run_cli(config=config, tmp_path=tmp_path, level="DEBUG")
    assert debug.code == 1 and "NoSuchBucket" in debug.stderr
    assert params["secret"] not in debug.stderr and params["key"] not in debug.stderr


def test_refused_credentials_are_one_line_naming_the_params(quiet_sim: Any, s3: MotoServer, tmp_path: Path) -> None:
    params = s3.params(key="AKIAUNKNOWNKEY000000", secret="not-a-known-secret-value")
    with s3.enforcing_auth():
        run = run_cli(config=cli_config(quiet_sim, f"s3://{BUCKET}/dvp", params), tmp_path=tmp_path)
    assert_stopped_before_docker(
        run,
        quiet_sim,
        "`batch_config.storage.params`",
        f"s3://{BUCKET}/dvp",
        "refused",
        "InvalidAccessKeyId",
        secrets=(params["secret"], params["key"]),
    )


def test_a_wrong_secret_and_a_user_without_rights_are_refused_in_one_line(sim: Any, s3: MotoServer) -> None:
    user = s3.iam_user("dvp-no-policy")
    cases = {
        "SignatureDoesNotMatch": s3.params(key=user.key, secret="wrong-secret-for-a-known-key"),
        "AccessDenied": s3.params(key=user.key, secret=user.secret),
    }
    with s3.enforcing_auth():
        for code, params in cases.items():
            config = cli_config(sim, f"s3://{BUCKET}/dvp", params)
            _out, error = run_tap_until_error(config)
            assert isinstance(error, ConfigError), (code, error)
            message = str(error)
            assert "\n" not in message
            assert message.startswith("setting `batch_config.storage.params`: the storage refused"), message
            assert code in message and params["secret"] not in message and user.key not in message, message


def test_half_a_key_pair_is_one_line_naming_the_params(sim: Any, s3: MotoServer) -> None:
    params = {"key": "AKIAHALFAPAIR0000000", "client_kwargs": {"endpoint_url": s3.url, "region_name": "us-east-1"}}
    _out, error = run_tap_until_error(cli_config(sim, f"s3://{BUCKET}/dvp", params))
    assert isinstance(error, ConfigError), error
    assert str(error).startswith("setting `batch_config.storage.params`: the credentials for "), error
    assert "AKIAHALFAPAIR0000000" not in str(error)


def test_an_endpoint_that_does_not_answer_is_one_line_naming_the_params(
    quiet_sim: Any, s3: MotoServer, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    params = {**s3.params(), "client_kwargs": {"endpoint_url": dead, "region_name": "us-east-1"}}
    run = run_cli(config=cli_config(quiet_sim, f"s3://{BUCKET}/dvp", params), tmp_path=tmp_path)
    assert_stopped_before_docker(
        run, quiet_sim, "`batch_config.storage.params`", "cannot be reached", dead, secrets=(params["secret"],)
    )
    assert run.seconds < 30


def test_an_s3_root_without_s3fs_names_the_extra(quiet_sim: Any, s3: MotoServer, tmp_path: Path) -> None:
    """The tap installed without the `s3` extra: s3fs cannot be imported (hidden from this one process)."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(cli_config(quiet_sim, f"s3://{BUCKET}/dvp", s3.params())))
    code = "import sys; sys.modules['s3fs'] = None\nfrom tap_dockerdvp.tap import TapDockerDVP\nTapDockerDVP.cli()"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAP_DOCKERDVP_") and k != "LOGLEVEL"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", code, "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    run = CliRun(["--config", str(config)], proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
    assert_stopped_before_docker(
        run, quiet_sim, "`batch_config.storage.root`", "s3://", "pip install 'tap-dockerdvp[s3]'"
    )


def test_a_local_root_that_cannot_be_written_is_one_line(sim: Any, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    config = cli_config(sim, (blocked / "batches").as_uri(), {})
    _out, error = run_tap_until_error(config)
    assert isinstance(error, ConfigError), error
    assert str(error).startswith("setting `batch_config.storage.root`: "), error


def test_storage_params_never_reach_the_logs(s3: MotoServer) -> None:
    """The redactor learns every credential in `storage.params`, however deep."""
    from tap_dockerdvp.files.batch_files import storage_secrets

    params = {
        "key": "AKIAEXAMPLEKEY",
        "secret": "s3cr3t-value",
        "client_kwargs": {"endpoint_url": s3.url, "region_name": "eu-west-1", "aws_session_token": "tok-123456"},
        "anon": False,
    }
    assert sorted(storage_secrets(params)) == ["AKIAEXAMPLEKEY", "s3cr3t-value", "tok-123456"]
    assert TapDockerDVP.config_jsonschema["properties"]["batch_config"]["properties"]["storage"]["properties"][
        "params"
    ]["secret"]
