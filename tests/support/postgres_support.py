"""The PostgreSQL the end-to-end tests load into, and how they read it back.

The server: TAP_DOCKERDVP_TEST_PG_URL (``postgresql://user:password@host:port/database``), else the libpq variables
PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE, else what `.ci/postgres.sh` sets up (tap_dockerdvp_test on
localhost:5432). Without a reachable server a test is skipped, except in CI (CI=true), where it fails. Each test
module loads into schemas of its own (the pid and a random suffix in the name: other runs may share the
server), dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pytest

SETUP_HINT = (
    "run `make postgres` (installs and starts PostgreSQL on localhost, as root or with sudo) "
    "or set TAP_DOCKERDVP_TEST_PG_URL=postgresql://user:password@host:port/database"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def connection_settings() -> dict[str, Any]:
    url = os.environ.get("TAP_DOCKERDVP_TEST_PG_URL")
    if url:
        parts = urlsplit(url)
        return {
            "host": parts.hostname or "localhost",
            "port": parts.port or 5432,
            "user": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
            "dbname": parts.path.lstrip("/") or unquote(parts.username or ""),
        }
    if any(os.environ.get(v) for v in ("PGHOST", "PGUSER", "PGDATABASE")):
        user = os.environ.get("PGUSER") or "postgres"
        return {
            "host": os.environ.get("PGHOST") or "localhost",
            "port": int(os.environ.get("PGPORT") or 5432),
            "user": user,
            "password": os.environ.get("PGPASSWORD") or "",
            "dbname": os.environ.get("PGDATABASE") or user,
        }
    # what .ci/postgres.sh creates
    return {
        "host": "localhost",
        "port": 5432,
        "user": "tap_dockerdvp_test",
        "password": "tap_dockerdvp_test",
        "dbname": "tap_dockerdvp_test",
    }


@dataclass
class Postgres:
    settings: dict[str, Any]
    schema: str

    def query(self, sql: str, params: tuple | list | None = None) -> list[tuple]:
        with psycopg.connect(**self.settings, connect_timeout=10) as con:
            return con.execute(sql, params).fetchall()

    def target_env(self) -> dict[str, str]:
        """target-postgres's settings (TARGET_POSTGRES_*) to load into this schema."""
        s = self.settings
        return {
            "TARGET_POSTGRES_HOST": str(s["host"]),
            "TARGET_POSTGRES_PORT": str(s["port"]),
            "TARGET_POSTGRES_USER": s["user"],
            "TARGET_POSTGRES_PASSWORD": s["password"],
            "TARGET_POSTGRES_DATABASE": s["dbname"],
            "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": self.schema,
        }

    def tables(self) -> list[str]:
        rows = self.query("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [self.schema])
        return sorted(r[0] for r in rows)

    def counts(self) -> dict[str, int]:
        return {
            t: self.query(f'SELECT count(*) FROM "{self.schema}"."{t}"')[0][0]  # noqa: S608
            for t in self.tables()
        }

    def column_types(self) -> dict[tuple[str, str], str]:
        rows = self.query(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = %s",
            [self.schema],
        )
        return {(table, column): dtype for table, column, dtype in rows}

    def columns(self) -> dict[str, dict[str, tuple[str, str]]]:
        """{table: {column: (data type, is_nullable)}}, as information_schema says."""
        rows = self.query(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = %s",
            [self.schema],
        )
        out: dict[str, dict[str, tuple[str, str]]] = {}
        for table, column, dtype, nullable in rows:
            out.setdefault(table, {})[column] = (dtype, nullable)
        return out

    def primary_keys(self) -> dict[str, list[str]]:
        rows = self.query(
            """SELECT tc.table_name, k.column_name
               FROM information_schema.table_constraints tc
               JOIN information_schema.key_column_usage k
                 ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name
                AND k.table_name = tc.table_name
               WHERE tc.table_schema = %s AND tc.constraint_type = 'PRIMARY KEY'
               ORDER BY tc.table_name, k.ordinal_position""",
            [self.schema],
        )
        keys: dict[str, list[str]] = {}
        for table, column in rows:
            keys.setdefault(table, []).append(column)
        return keys

    def batched_at(self, table: str) -> tuple[Any, Any]:
        """(min, max) of _sdc_batched_at: when the oldest and the newest row were last written."""
        (row,) = self.query(f'SELECT min(_sdc_batched_at), max(_sdc_batched_at) FROM "{self.schema}"."{table}"')  # noqa: S608
        return row[0], row[1]


def reachable_settings() -> dict[str, Any]:
    """The server's connection settings; skip (fail in CI) when nothing answers there."""
    settings = connection_settings()
    where = f"{settings['user']}@{settings['host']}:{settings['port']}/{settings['dbname']}"
    try:
        with psycopg.connect(**settings, connect_timeout=5) as con:
            con.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = f"no PostgreSQL reachable as {where}: {' '.join(str(exc).split())[:300]}"
        if in_ci():
            pytest.fail(f"{reason} (CI=true: the PostgreSQL end-to-end test must run; .ci/run starts the server)")
        pytest.skip(f"{reason}; {SETUP_HINT}")
    return settings


@contextmanager
def postgres_schema(label: str, settings: dict[str, Any] | None = None) -> Iterator[Postgres]:
    """A schema of its own (``<label>_<pid>_<random>``) on the test server, dropped afterwards."""
    settings = settings or reachable_settings()
    schema = f"{label}_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        yield Postgres(settings=settings, schema=schema)
    finally:
        with psycopg.connect(**settings, connect_timeout=10, autocommit=True) as con:
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
