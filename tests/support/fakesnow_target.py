"""MeltanoLabs target-snowflake on the fakesnow emulator: what tests/e2e/test_e2e_deletes.py loads into.

Run with the Python of the venv that holds ``meltanolabs-target-snowflake`` and ``fakesnow`` (the Makefile's
``.venv-snowflake``: the target pins a pre-release singer-sdk, so it cannot share the tap's venv):

    .venv-snowflake/bin/python tests/support/fakesnow_target.py DB_DIR --config target.json < singer-messages
    .venv-snowflake/bin/python tests/support/fakesnow_target.py DB_DIR --query "SELECT ..." ...  # a JSON line per query

The first runs the unmodified target (``TargetSnowflake.cli()``) with ``snowflake.connector.connect`` patched by
``fakesnow.patch(db_path=DB_DIR)``: every database is a DuckDB file in DB_DIR, so a second run and the queries
see what the first one loaded. fakesnow 0.12 emulates the tables, MERGE, UPDATE and DELETE the target and the
SDK's ACTIVATE_VERSION handling issue, but not the few statements around the target's internal stage; this shim
emulates exactly those, in front of fakesnow's cursor, and hands everything else to fakesnow unchanged:

- ``PUT file://... '@~/target-snowflake/<sync id>'``: the user stage ``@~`` (fakesnow has named and table
  stages only, and refuses ``@~``). The file is copied into ``DB_DIR/user-stage/<path>/``.
- ``REMOVE '@~/target-snowflake/<sync id>/'`` (fakesnow cannot parse REMOVE): deletes that folder.
- ``DROP FILE FORMAT IF EXISTS ...`` (fakesnow cannot parse it): the formats the target creates (``CREATE FILE
  FORMAT``, which fakesnow runs) are only named in the MERGE, so dropping one has nothing else to undo: a no-op.
- ``MERGE INTO t d USING (SELECT $1:col::TYPE AS "COL", ... FROM '@~/<path>'(file_format => f) QUALIFY
  ROW_NUMBER() OVER (PARTITION BY keys ORDER BY SEQ8() DESC) = 1) s ON ...``: fakesnow cannot select from a stage
  with a file format; it turns ``SEQ8()`` into a window function, which a window's ORDER BY cannot hold; and a
  MERGE whose source is a subquery with QUALIFY over JSON paths fails in DuckDB ("The combining JOIN type must be
  INNER or LEFT for a LATERAL reference"). So the staged JSON lines (gzip or not, as the file format's
  ``compression = 'AUTO'`` reads them) are loaded into a table ``(seq, v)`` in file order; the target's source
  SELECT runs into a second table, with ``$1`` read from ``v``, the stage replaced by the first table and
  ``SEQ8()`` by ``seq`` (the last row of a key wins, as in Snowflake); then the target's MERGE runs with that
  table as its source, after ``USE SCHEMA`` of the target table's schema (fakesnow's MERGE of matched rows needs a
  current schema; the target's connection names none). Every column expression, the join, the update and the
  insert are the target's own. Both tables are dropped afterwards.

One more change to the target's run, not to its SQL: it drains one sink at a time (``max_parallelism`` 1), since
fakesnow's connections share one DuckDB connection, which refuses concurrent calls. Anything else the target sends
about ``@~`` (a COPY from the stage: it only does that for streams without keys or without upserts, which these
tests do not load) fails in fakesnow, loudly.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import fakesnow
from fakesnow.cursor import FakeSnowflakeCursor

PUT = re.compile(r"^\s*put\s+(?P<source>\S+)\s+'@~/(?P<path>[^']+)'\s*$", re.IGNORECASE | re.DOTALL)
REMOVE = re.compile(r"^\s*remove\s+'@~/(?P<path>[^']+)'\s*$", re.IGNORECASE)
DROP_FILE_FORMAT = re.compile(r"^\s*drop\s+file\s+format\b", re.IGNORECASE)
MERGE_FROM_STAGE = re.compile(r"\bfrom\s+'@~/(?P<path>[^']+)'\s*\(\s*file_format\s*=>\s*[^)]*\)", re.IGNORECASE)
MERGE_INTO = re.compile(r'^\s*merge\s+into\s+(?P<schema>"[^"]+"\."[^"]+")\.', re.IGNORECASE)
DONE = "SELECT 'Statement executed successfully.' AS status"


class UserStage:
    """The user stage ``@~``, as a folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, path: str) -> Path:
        folder = (self.root / path.strip("/")).resolve()
        if not folder.is_relative_to(self.root.resolve()):
            raise ValueError(f"stage path {path!r} leaves the user stage")
        return folder

    def put(self, source_url: str, path: str) -> None:
        source = Path(unquote(urlsplit(source_url).path))
        folder = self.folder(path)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / source.name)

    def remove(self, path: str) -> None:
        shutil.rmtree(self.folder(path), ignore_errors=True)

    def files(self, path: str) -> list[Path]:
        files = sorted(p for p in self.folder(path).rglob("*") if p.is_file())
        if not files:
            raise FileNotFoundError(f"nothing staged under @~/{path}")
        return files


def install(stage: UserStage) -> None:
    """Put the emulation in front of fakesnow's cursor."""
    fakesnow_execute = FakeSnowflakeCursor.execute

    def execute(self: FakeSnowflakeCursor, command: str, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if match := PUT.match(command):
            source = match["source"]
            if isinstance(params, dict) and source.startswith("%("):  # a bound parameter, as the target sends it
                source = params[source[2:].split(")", 1)[0]]
            stage.put(source.strip("'"), match["path"])
            return fakesnow_execute(self, DONE)
        if match := REMOVE.match(command):
            stage.remove(match["path"])
            return fakesnow_execute(self, DONE)
        if DROP_FILE_FORMAT.match(command):
            return fakesnow_execute(self, DONE)
        if (into := MERGE_INTO.match(command)) and (match := MERGE_FROM_STAGE.search(command)):
            # tables in the merge's own schema: the statements then need no current schema
            rows, source = (f"{into['schema']}._stage_{kind}_{uuid.uuid4().hex}" for kind in ("rows", "source"))
            files = [str(path) for path in stage.files(match["path"])]
            self._duck_conn.execute(
                f"CREATE TABLE {rows} AS SELECT row_number() OVER () AS seq, json AS v "  # noqa: S608 - our names
                "FROM read_json_objects(?, format = 'newline_delimited')",
                [files],
            )
            try:
                command = command[: match.start()] + f"from {rows}" + command[match.end() :]
                head, rest = command.split(" using (", 1)
                select, tail = rest.split(") s on ", 1)
                select = re.sub(r"\bSEQ8\(\)", "seq", select.replace("$1:", "v:"), flags=re.IGNORECASE)
                fakesnow_execute(self, f"CREATE TABLE {source} AS {select}")
                fakesnow_execute(self, f"USE SCHEMA {into['schema']}")  # fakesnow's MERGE of matched rows needs one
                return fakesnow_execute(self, f"{head} using {source} s on {tail}", params, *args, **kwargs)
            finally:
                self._duck_conn.execute(f"DROP TABLE IF EXISTS {rows}")
                self._duck_conn.execute(f"DROP TABLE IF EXISTS {source}")
        return fakesnow_execute(self, command, params, *args, **kwargs)

    FakeSnowflakeCursor.execute = execute  # type: ignore[method-assign]


def query(db_dir: Path, database: str, statements: list[str]) -> None:
    """Print each statement's rows, as one JSON list of objects per line."""
    import snowflake.connector

    with fakesnow.patch(db_path=db_dir), snowflake.connector.connect(database=database) as con:
        cursor = con.cursor()
        for sql in statements:
            cursor.execute(sql)
            columns = [c[0] for c in cursor.description]
            print(json.dumps([dict(zip(columns, row, strict=True)) for row in cursor.fetchall()], default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("db_dir", type=Path)
    parser.add_argument("--query", action="append", help="run this SQL (repeatable) instead of the target")
    parser.add_argument("--database", default="DVP", help="the database --query connects to")
    args, target_args = parser.parse_known_args()
    args.db_dir.mkdir(parents=True, exist_ok=True)
    if args.query:
        query(args.db_dir, args.database, args.query)
        return
    install(UserStage(args.db_dir / "user-stage"))
    from target_snowflake.target import TargetSnowflake

    # one sink drained at a time: fakesnow's connections share one DuckDB connection, which refuses concurrent calls
    TargetSnowflake.max_parallelism = 1
    with fakesnow.patch(db_path=args.db_dir):
        TargetSnowflake.cli(target_args)


if __name__ == "__main__":
    main()
