"""Nothing a user gives is accepted without a word: each mistake ends the run (exit 1) in one line per problem,
naming the setting or the file, before anything is extracted; a key the tap does not know is a WARNING naming the
closest setting.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import closed_port, run_cli
from tap_harness import catalog_selecting, tap_config

from dockerdvp_simulator import SimConfig


@pytest.fixture
def sim(simulator):
    return simulator(SimConfig(namespaces=("acme", "globex"), weeks=1, rows_per_week=20, include_partial=False))


def assert_nothing_extracted(run, sim) -> None:
    assert run.stdout == "", "the tap printed messages"
    assert sim.stats["requests_total"] == 0, f"the tap called Docker: {sim.stats['requests']}"


def test_a_misspelled_setting_is_a_warning_naming_the_setting_meant(sim, tmp_path: Path) -> None:
    config = {**tap_config(sim), "namespace": ["acme"]}  # `namespaces` meant
    run = run_cli("--discover", config=config, tmp_path=tmp_path)
    assert run.code == 0, run.stderr[-2000:]
    warnings = [w for w in run.at("WARNING") if "`namespace`" in w]
    assert warnings == [
        "setting `namespace` is not a setting of tap-dockerdvp and is ignored: did you mean `namespaces`?"
    ]
    assert "setting `namespaces`" not in run.stderr.replace("did you mean `namespaces`", "")


def test_settings_the_sdk_or_meltano_bring_are_not_warned_about(sim, tmp_path: Path) -> None:
    config = {
        **tap_config(sim),
        "stream_maps": {},
        "flattening_enabled": False,
        "batch_config": {"encoding": {"format": "jsonl"}, "storage": {"root": tmp_path.as_uri()}},
        "_meltano_extra": "x",  # Meltano's extras start with `_`
        "emit_activate_version_messages": True,
    }
    run = run_cli("--discover", config=config, tmp_path=tmp_path)
    assert run.code == 0 and not [w for w in run.at("WARNING") if "is not a setting" in w], run.stderr[-2000:]


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"namespaces": []}, "setting `namespaces` is an empty list"),
        ({"api_url": "http://127.0.0.1:/api/publisher/analytics/v1"}, "setting `api_url` has no valid port"),
        ({"hub_url": "http://127.0.0.1:"}, "setting `hub_url` has no valid port"),
        ({"hub_url": "http://127.0.0.1:http"}, "setting `hub_url` has no valid port"),
        ({"api_url": "ftp://example.com/x"}, "setting `api_url` must be an http(s) URL"),
        ({"start_date": "2026-11-20junk"}, "setting `start_date` is not a date"),
        (
            {"batch_config": {"encoding": {"format": "jsonl", "compresion": "gzip"}, "storage": {"root": "file:///x"}}},
            "setting `batch_config.encoding.compresion` is not a key of `batch_config.encoding`: did you mean "
            "`compression`?",
        ),
        (
            {"batch_config": {"encoding": {"format": "jsonl"}, "storage": {"root": " "}}},
            "setting `batch_config.storage.root` is empty",
        ),
        ({"flattening_enabled": True}, "Flattening is misconfigured: flattening_max_depth is required"),
        # a name goes into the API's paths: `acme/` read acme's metadata, then failed unnamed on another endpoint
        ({"namespaces": ["acme/"]}, "setting `namespaces`: 'acme/' is not a Docker Hub namespace"),
        ({"namespaces": ["acme", "acme?x=1"]}, "setting `namespaces`: 'acme?x=1' is not a Docker Hub namespace"),
        ({"namespaces": [".."]}, "setting `namespaces`: '..' is not a Docker Hub namespace"),
    ],
    ids=[
        "empty namespaces",
        "api_url empty port",
        "hub_url empty port",
        "hub_url bad port",
        "api_url scheme",
        "start_date junk",
        "batch_config key",
        "empty storage root",
        "flattening without depth",
        "namespace with a slash",
        "namespace with a query",
        "namespace of dots",
    ],
)
def test_a_refused_setting_is_one_line_and_nothing_is_extracted(sim, tmp_path: Path, override, needle) -> None:
    config = {**tap_config(sim), **override}
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_selecting(tap_config(sim), ["namespaces", "pull_events"])))
    run = run_cli("--catalog", catalog, config=config, tmp_path=tmp_path)
    run.assert_fails_in_one_line(needle)
    assert_nothing_extracted(run, sim)
    assert run.seconds < 30


@pytest.mark.parametrize(
    ("override", "needle", "secret"),
    [
        ({"password": ["dckr_pat_LISTSECRET"]}, "setting `password` is invalid: it must be of type", "LISTSECRET"),
        ({"totp_secret": {"seed": "JBSWY3DPEHPK3PXP"}}, "setting `totp_secret` is invalid", "JBSWY3DPEHPK3PXP"),
        (
            {
                "batch_config": {
                    "encoding": {"format": "jsonl"},
                    "storage": {"root": "file:///x", "params": "key=AKIAXX,secret=ParamS3cretVal"},
                }
            },
            "setting `batch_config.storage.params` is invalid",
            "ParamS3cretVal",
        ),
        (
            {"api_url": "http://proxyuser:ProxyS3cret@127.0.0.1:9/api/publisher/analytics/v1"},
            "setting `api_url` must not carry a user name or password",
            "ProxyS3cret",
        ),
        # checked before any request: with a token as the password, a bad seed passed without a word
        ({"totp_secret": "NOT-BASE32!1"}, "setting `totp_secret` is not a base32 TOTP seed", "NOT-BASE32!1"),
    ],
    ids=[
        "password of the wrong type",
        "totp_secret of the wrong type",
        "storage params of the wrong type",
        "credentials in api_url",
        "totp_secret not base32",
    ],
)
def test_a_refused_secret_setting_is_named_and_its_value_never_shown(sim, tmp_path: Path, override, needle, secret):
    run = run_cli(config={**tap_config(sim), **override}, tmp_path=tmp_path)
    run.assert_fails_in_one_line(needle)
    assert secret not in run.stderr and secret not in run.stdout
    assert_nothing_extracted(run, sim)


@pytest.mark.parametrize(
    ("override", "streams", "refused"),
    [
        ({"timespan_types": ["months"]}, ["timespans", "pull_events"], True),
        ({"timespan_types": ["weeks"], "raw_timespan_type": "months"}, ["timespans", "pull_events"], True),
        ({"timespan_types": ["months"]}, ["timespans", "summary"], False),  # no raw rows wanted: nothing lost
    ],
    ids=["months only", "raw months, weeks only", "months only without pull_events"],
)
def test_a_raw_timespan_type_left_out_of_timespan_types_is_refused_when_pull_events_is_selected(
    sim, tmp_path: Path, override, streams, refused
) -> None:
    config = {**tap_config(sim), **override}
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps(catalog_selecting(tap_config(sim), streams)))
    run = run_cli("--catalog", catalog, config=config, tmp_path=tmp_path)
    if refused:
        run.assert_fails_in_one_line("setting `raw_timespan_type` is", "`pull_events` would get no rows")
        assert_nothing_extracted(run, sim)
    else:
        assert run.code == 0, run.stderr[-2000:]


def test_every_bad_setting_is_reported_at_once_one_line_each(sim, tmp_path: Path) -> None:
    config = {**tap_config(sim), "namespaces": [], "max_retries": -1, "end_date": "2020-01-01",
              "start_date": "2021-01-01", "timespan_types": ["days"]}  # fmt: skip
    run = run_cli(config=config, tmp_path=tmp_path)
    assert run.code == 1 and "Traceback" not in run.stderr, run.stderr[-2000:]
    errors = run.at("ERROR")
    named = sorted(e.split("`")[1] for e in errors)
    assert named == ["end_date", "max_retries", "namespaces", "timespan_types"], errors
    assert_nothing_extracted(run, sim)


def test_an_unreachable_hub_url_derived_from_api_url_names_api_url(tmp_path: Path) -> None:
    port = closed_port()
    config = {"username": "u", "password": "p", "api_url": f"http://127.0.0.1:{port}/api/publisher/analytics/v1",
              "max_retries": 0, "retry_base_seconds": 0.01}  # fmt: skip
    run = run_cli(config=config, tmp_path=tmp_path)
    line = run.assert_fails_in_one_line("check `api_url`", f"127.0.0.1:{port}")
    assert "check `hub_url`" not in line and "`hub_url` is not set" in line


@pytest.mark.parametrize("selected", [["no_such_stream"], []], ids=["an unknown stream", "no stream"])
def test_a_catalog_that_selects_no_stream_of_the_tap_fails_naming_what_it_selected(sim, tmp_path: Path, selected):
    config = tap_config(sim)
    catalog = catalog_selecting(config, [])
    for name in selected:
        catalog["streams"].append(
            {"tap_stream_id": name, "stream": name, "schema": {"type": "object", "properties": {}},
             "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}
        )  # fmt: skip
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    run = run_cli("--catalog", path, config=config, tmp_path=tmp_path)
    line = run.assert_fails_in_one_line("the catalog selects", "select streams it has")
    # the names it selects, none of them the tap's; or, selecting nothing, no claim that names are unknown
    assert (f"{selected[0]}, and none is a stream of" if selected else "selects no stream at all: select") in line
    assert_nothing_extracted(run, sim)


def test_a_catalog_with_one_unknown_stream_among_known_ones_warns_and_runs(sim, tmp_path: Path) -> None:
    config = tap_config(sim)
    catalog = catalog_selecting(config, ["namespaces"])
    catalog["streams"].append(
        {"tap_stream_id": "old_stream", "stream": "old_stream", "schema": {"type": "object", "properties": {}},
         "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}
    )  # fmt: skip
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    run = run_cli("--catalog", path, config=config, tmp_path=tmp_path)
    assert run.code == 0, run.stderr[-2000:]
    assert any("'old_stream'" in w and "does not have" in w for w in run.at("WARNING"))
    assert run.records() == {"namespaces": 2}


def test_an_api_url_with_a_wrong_path_is_one_line_naming_api_url(sim, tmp_path: Path) -> None:
    config = {**tap_config(sim), "api_url": sim.api_url.replace("/v1", "/v2")}
    run = run_cli(config=config, tmp_path=tmp_path)
    line = run.assert_fails_in_one_line("answers HTTP 404 or 410 for both GET /namespaces and GET /", "fix `api_url`")
    assert "/analytics/v2" in line
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("TAP_DOCKERDVP_LOOKBACK_TIMESPANS", "abc", "(setting `lookback_timespans`) must be a whole number: got 'abc'"),
        ("TAP_DOCKERDVP_MAX_RETRIES", "2.0", "(setting `max_retries`) must be a whole number"),
        ("TAP_DOCKERDVP_REPORT_TYPE_MAP", "{trend: x}", "(setting `report_type_map`) must be JSON"),
        ("TAP_DOCKERDVP_BATCH_CONFIG", "format=jsonl", "(setting `batch_config`) must be JSON"),
        # the SDK reads any other word as false: a typo turned the table versions, and so the deletes, off
        (
            "TAP_DOCKERDVP_EMIT_ACTIVATE_VERSION_MESSAGES",
            "ture",
            "(setting `emit_activate_version_messages`) must be one of true, 1, yes, on, false, 0, no, off: got 'ture'",
        ),
        ("TAP_DOCKERDVP_EMIT_ACTIVATE_VERSION_MESSAGES", " true", "(setting `emit_activate_version_messages`) must"),
    ],
    ids=["integer", "integer as a decimal", "object", "batch_config", "flag", "flag with a space"],
)
def test_an_environment_variable_of_the_wrong_type_is_one_line_naming_it(sim, tmp_path, variable, value, said) -> None:
    env = {
        "TAP_DOCKERDVP_USERNAME": "demo", "TAP_DOCKERDVP_PASSWORD": "dckr_pat_demo-secret-token",
        "TAP_DOCKERDVP_API_URL": sim.api_url, variable: value,
    }  # fmt: skip
    for command in (["--config", "ENV"], ["--config", "ENV", "--test"]):
        run = run_cli(*command, tmp_path=tmp_path, env=env)
        run.assert_fails_in_one_line(f"environment variable `{variable}` {said}")
        assert "dckr_pat_demo-secret-token" not in run.stderr
    assert sim.stats["requests_total"] == 0


@pytest.mark.parametrize(
    ("maps", "said"),
    [
        ({"pull_events": {"x": "repository.upper("}}, "setting `stream_maps`: Failed to parse expression"),
        ({"pull_events": {"__key_properties__": ["nope"]}}, "setting `stream_maps`: Invalid key properties"),
    ],
    ids=["syntax", "key properties"],
)
def test_a_broken_stream_map_is_one_line_naming_stream_maps(sim, tmp_path: Path, maps, said) -> None:
    run = run_cli(config={**tap_config(sim), "stream_maps": maps}, tmp_path=tmp_path)
    run.assert_fails_in_one_line(said)
    assert_nothing_extracted(run, sim)


def test_a_map_for_a_stream_the_tap_lacks_is_a_warning_naming_the_stream_meant(sim, tmp_path: Path) -> None:
    run = run_cli(
        "--discover", config={**tap_config(sim), "stream_maps": {"pull_event": {"x": "1"}}}, tmp_path=tmp_path
    )
    assert run.code == 0, run.stderr[-2000:]
    assert [w for w in run.at("WARNING") if "stream_maps" in w] == [
        "setting `stream_maps` maps 'pull_event', which is not a stream of tap-dockerdvp: ignored; did you mean "
        "`pull_events`?"
    ]


def test_a_start_date_in_the_future_is_a_warning(sim, tmp_path: Path) -> None:
    run = run_cli("--discover", config={**tap_config(sim), "start_date": "2205-01-01"}, tmp_path=tmp_path)
    assert run.code == 0, run.stderr[-2000:]
    assert [w for w in run.at("WARNING") if "start_date" in w] == [
        "setting `start_date` (2205-01-01) is in the future: a stream or namespace without a bookmark extracts no "
        "period until after it"
    ]


def test_a_flag_the_sdk_reads_is_no_problem() -> None:
    from tap_dockerdvp import settings
    from tap_dockerdvp.tap import TapDockerDVP

    known = TapDockerDVP.known_settings()
    name = "TAP_DOCKERDVP_EMIT_ACTIVATE_VERSION_MESSAGES"
    for word in ("true", "TRUE", "1", "yes", "On", "false", "0", "no", "OFF"):
        assert settings.environment_problems(known, {name: word}) == [], word
    assert settings.environment_problems(known, {name: "ture"})  # the control
