"""A real S3 API on localhost for the tests: `moto_server` (from `moto[server]`) in a subprocess.

Nothing is mocked in-process: the tap, s3fs and boto3 talk HTTP to the server as they would to AWS. Moto accepts
any credentials by default; :meth:`MotoServer.enforcing_auth` switches its IAM authentication on (moto's
`POST /moto-api/reset-auth`, the runtime form of its `INITIAL_NO_AUTH_ACTION_COUNT` setting), so that an unknown
key, a wrong secret or a user without a policy is refused as AWS would refuse it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e_support import stop

REGION = "us-east-1"
# moto's default mode takes any key pair; these stand for a user's own
ACCESS_KEY = "AKIATAPDOCKERDVPTEST"
SECRET_KEY = "tap-dockerdvp-test-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class IamUser:
    name: str
    key: str
    secret: str


@dataclass
class MotoServer:
    url: str

    def client(self, service: str = "s3", *, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> Any:
        import boto3

        return boto3.client(
            service, endpoint_url=self.url, aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION
        )

    def params(self, *, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> dict[str, Any]:
        """`batch_config.storage.params` for s3fs, pointed at this server."""
        return {"key": key, "secret": secret, "client_kwargs": {"endpoint_url": self.url, "region_name": REGION}}

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under ``prefix``: its s3:// URL -> its bytes (read with boto3, not with the tap's s3fs)."""
        s3 = self.client()
        found: dict[str, bytes] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                found[f"s3://{bucket}/{item['Key']}"] = body
        return found

    def iam_user(self, name: str) -> IamUser:
        """A user with an access key and no policy: once auth is enforced, it may do nothing."""
        iam = self.client("iam")
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return IamUser(name, key["AccessKeyId"], key["SecretAccessKey"])

    @contextlib.contextmanager
    def enforcing_auth(self) -> Iterator[None]:
        """Within the block, every request is authenticated and authorised against moto's IAM."""
        self._reset_auth("0")
        try:
            yield
        finally:
            self._reset_auth("inf")

    def _reset_auth(self, count: str) -> None:
        response = requests.post(f"{self.url}/moto-api/reset-auth", data=count, timeout=10)
        response.raise_for_status()


@contextlib.contextmanager
def moto_server(log_dir: Path) -> Iterator[MotoServer]:
    """`moto_server` on a free local port, until the block ends."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed: `make setup` installs the dev extra")
    pytest.importorskip("s3fs", reason="s3fs is not installed: `make setup` installs the dev extra")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_dir / "moto_server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"moto_server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')}")
                with contextlib.suppress(requests.ConnectionError):
                    if requests.get(f"{url}/moto-api/data.json", timeout=2).ok:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not answer within 30 s:\n{log_path.read_text(errors='replace')}")
                time.sleep(0.1)
            yield MotoServer(url)
        finally:
            stop(proc)
