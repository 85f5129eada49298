"""The one reader: decompression, decoding (the byte rule), headers, values, ragged rows, truncation, batches."""

from __future__ import annotations

import gzip
import logging
import struct

import pytest

from tap_dockerdvp.dvp.views import VIEWS
from tap_dockerdvp.files.reader import (
    CsvFormatError,
    FileLayout,
    TruncatedFileError,
    parse_date,
    parse_datetime,
    parse_integer,
    parse_number,
    plain_datetimes,
    read_batches,
    records,
)

RAW = VIEWS["raw"]
SUMMARY = VIEWS["summary"]


def iter_csv_records(chunks, spec, *, label: str, logger=None, skip: int = 0, batch_rows: int = 2048):
    """The reader's rows as records: every column of the view, extra_columns, row_number."""
    order = [*spec.column_names, "extra_columns", "row_number"]
    for batch in read_batches(chunks, spec, label=label, logger=logger, skip=skip, batch_rows=batch_rows):
        yield from records(batch, order, {})


def read(data: bytes, spec=RAW, *, chunk: int | None = None, label: str = "f.csv", logger=None, batch_rows=2048):
    step = chunk or max(len(data), 1)
    chunks = [data[i : i + step] for i in range(0, len(data), step)]
    return list(iter_csv_records(iter(chunks), spec, label=label, logger=logger, batch_rows=batch_rows))


SAMPLE = (
    b"Namespace,Repository,Reference,Tag,Digest,Unique IP address,Pull by tag,Pull by digest,"
    b"Version check,Owner\n"
    b'myorg,app,latest,latest,sha256:aa,3,10,2,7,"Amazon, Inc."\n'
    b'myorg,"we ""quoted""",v1,v1,,\\N,0,12.0,,"multi\nline"\n'
    b"myorg,app,sha256:bb,null,sha256:bb,NULL,\\\\N,1,1,\n"
)
SAMPLE_EXPECTED = [
    {
        "repository_namespace": "myorg",
        "repository": "app",
        "reference": "latest",
        "tag": "latest",
        "digest": "sha256:aa",
        "unique_ip_count": 3,
        "pull_by_tag": 10,
        "pull_by_digest": 2,
        "version_check": 7,
        "owner": "Amazon, Inc.",
        "extra_columns": None,
        "row_number": 1,
    },
    {
        "repository_namespace": "myorg",
        "repository": 'we "quoted"',
        "reference": "v1",
        "tag": "v1",
        "digest": None,
        "unique_ip_count": None,
        "pull_by_tag": 0,
        "pull_by_digest": 12,
        "version_check": None,
        "owner": "multi\nline",
        "extra_columns": None,
        "row_number": 2,
    },
    {
        "repository_namespace": "myorg",
        "repository": "app",
        "reference": "sha256:bb",
        "tag": None,
        "digest": "sha256:bb",
        "unique_ip_count": None,
        "pull_by_tag": None,
        "pull_by_digest": 1,
        "version_check": 1,
        "owner": None,
        "extra_columns": None,
        "row_number": 3,
    },
]


def test_awkward_values_plain():
    assert read(SAMPLE, SUMMARY) == SAMPLE_EXPECTED


def test_gzip_equals_plain():
    assert read(gzip.compress(SAMPLE), SUMMARY) == SAMPLE_EXPECTED


def test_multi_member_gzip_with_padding():
    third = len(SAMPLE) // 3
    data = (
        gzip.compress(SAMPLE[:third])
        + gzip.compress(SAMPLE[third : 2 * third])
        + b"\x00\x00"
        + gzip.compress(SAMPLE[2 * third :])
        + b"\x00" * 5
    )
    assert read(data, SUMMARY) == SAMPLE_EXPECTED
    assert read(data, SUMMARY, chunk=1) == SAMPLE_EXPECTED


@pytest.mark.parametrize("compress", [False, True])
def test_every_chunk_boundary(compress):
    data = gzip.compress(SAMPLE) if compress else SAMPLE
    for size in (1, 2, 3, 7, 64):
        assert read(data, SUMMARY, chunk=size) == SAMPLE_EXPECTED, size


def test_bom_crlf_and_header_spellings():
    data = (
        "\ufeffACTION_DAY,Timestamp,action-day,Namespace ,  Repository\r\n"
        '2025-07-01,2025-07-01 00:00:00,x,org,"a\r\nb"\r\n'
        "2025-07-02,2025-07-02 13:14:15,y,org,r\r\n"
    ).encode()
    for chunk in (None, 1):
        recs = read(data, chunk=chunk)
        assert [r["action_day"] for r in recs] == ["2025-07-01", "2025-07-02"]
        assert [r["timestamp"] for r in recs] == ["2025-07-01T00:00:00Z", "2025-07-02T13:14:15Z"]
        assert recs[0]["repository"] == "a\r\nb"
        # "action-day" repeats action_day: the first one wins, the repeat is kept as written.
        assert recs[0]["extra_columns"] == {"action-day": "x"}


@pytest.mark.parametrize("compress", [False, True])
def test_a_file_with_carriage_return_line_ends_is_whole(compress):
    """Old Mac line ends (\r only): every row, no "looks cut" (a \r ends the last line as \n would)."""
    data = b'Action day,Namespace,Repository\r2025-07-01,org,a\r2025-07-02,org,"b\rc"\r'
    for chunk in (None, 1, 7):
        recs = read(gzip.compress(data) if compress else data, chunk=chunk)
        assert [(r["action_day"], r["repository"]) for r in recs] == [("2025-07-01", "a"), ("2025-07-02", "b\rc")]


def test_reordered_and_differently_cased_headers():
    data = b"Owner,VERSION CHECK,pull-by-digest,Pull By Tag,unique ip address,Repository,namespace\no,1,2,3,4,r,n\n"
    (rec,) = read(data, VIEWS["repo-summary"])
    assert rec == {
        "owner": "o",
        "version_check": 1,
        "pull_by_digest": 2,
        "pull_by_tag": 3,
        "unique_ip_count": 4,
        "repository": "r",
        "repository_namespace": "n",
        "extra_columns": None,
        "row_number": 1,
    }


def test_every_record_has_every_column():
    data = b"namespace,timestamp\norg,2025-07-01 00:00:00\n"
    (rec,) = read(data)
    assert set(rec) == {*RAW.column_names, "extra_columns", "row_number"}
    assert rec["tag"] is None
    assert rec["extra_columns"] is None


def test_unknown_columns_kept_and_logged_once(caplog):
    data = b"namespace, ip_hash ,repository,,Extra\norg,h1,r,z,\norg,h2,r,,null\n"
    with caplog.at_level(logging.INFO, logger="tap_dockerdvp.files.reader"):
        recs = read(data, VIEWS["repo-summary"], label="org/2025/months/7/repo-summary#0")
    assert [r["extra_columns"] for r in recs] == [
        {"ip_hash": "h1", "_column_4": "z", "Extra": None},
        {"ip_hash": "h2", "_column_4": None, "Extra": None},
    ]
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == [
        "org/2025/months/7/repo-summary#0: keeping unknown columns ['ip_hash', '_column_4', 'Extra'] in extra_columns"
    ]


def test_custom_logger(caplog):
    log = logging.getLogger("custom.stream")
    with caplog.at_level(logging.INFO, logger="custom.stream"):
        read(b"namespace,ip_hash\norg,h\n", logger=log)
    assert [r.name for r in caplog.records] == ["custom.stream"]


def test_ragged_rows_and_blank_lines(caplog):
    data = b"namespace,repository,pull_by_tag\norg,a,1\norg,b\n\norg,c,3,x,\norg\n\r\norg,d,4\n"
    with caplog.at_level(logging.INFO, logger="tap_dockerdvp.files.reader"):
        recs = read(data, VIEWS["repo-summary"], label="f#1")
    assert [(r["repository"], r["pull_by_tag"], r["row_number"]) for r in recs] == [
        ("a", 1, 1),
        ("b", None, 2),
        ("c", 3, 3),
        (None, None, 4),
        ("d", 4, 5),
    ]
    assert recs[2]["extra_columns"] == {"_extra_1": "x", "_extra_2": None}
    assert recs[1]["extra_columns"] is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("f#1: 2 rows had fewer fields than the header")
    assert "1 rows had more fields than the header" in warnings[0]
    assert "2 blank lines skipped" in warnings[0]


def test_surplus_values_never_take_the_name_of_a_column_the_file_has():
    # a column headed "_extra_1" keeps its value; the surplus value of a long row is "_extra_2"
    data = b"namespace,repository,_extra_1\norg,a,kept\norg,b,kept too,surplus\n"
    recs = read(data, VIEWS["repo-summary"])
    assert [r["extra_columns"] for r in recs] == [
        {"_extra_1": "kept"},
        {"_extra_1": "kept too", "_extra_2": "surplus"},
    ]


def test_no_warning_for_a_clean_file(caplog):
    with caplog.at_level(logging.DEBUG, logger="tap_dockerdvp.files.reader"):
        read(SAMPLE, SUMMARY)
    assert not [r for r in caplog.records if r.levelno >= logging.INFO]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("12.0", 12),
        ("-3", -3),
        ("1e3", 1000),
        ("9223372036854775807", 2**63 - 1),  # the 64-bit bounds: what parquet and BIGINT hold
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_integers(value, expected):
    assert parse_integer(value) == expected
    (rec,) = read(f"namespace,pull_by_tag\norg,{value}\n".encode(), VIEWS["repo-summary"])
    assert rec["pull_by_tag"] == expected


@pytest.mark.parametrize(
    "value", ["abc", "12.5", "nan", "inf", "1,5", "9223372036854775808", "123456789012345678901234567890", "1e20"]
)
def test_bad_integer(value):
    data = f'namespace,unique_ip_count,pull_by_tag\norg,1,2\norg,3,"{value}"\n'.encode()
    with pytest.raises(CsvFormatError, match=r"f\.csv: data row 2, column 'pull_by_tag'"):
        read(data, VIEWS["repo-summary"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), ("-3", -3), ("1.5", 1.5), (" 2.25 ", 2.25), ("1e3", 1000.0), ("9223372036854775808", 2.0**63)],
)
def test_numbers(value, expected):
    number = parse_number(value)
    assert number == expected
    assert type(number) is type(expected)  # a whole number within 64 bits stays exact; beyond, a double


@pytest.mark.parametrize("value", ["abc", "nan", "inf", "-inf", "1e400", "1" + "0" * 400, "1,5"])
def test_bad_number(value):
    with pytest.raises((ValueError, ArithmeticError)):
        parse_number(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-07-01 00:00:00", "2025-07-01T00:00:00Z"),
        ("2025-07-01T12:34:56", "2025-07-01T12:34:56Z"),
        ("2025-07-01T12:34:56Z", "2025-07-01T12:34:56Z"),
        ("2025-07-01 12:34:56.123456", "2025-07-01T12:34:56.123456Z"),
        ("2025-07-01 12:34:56.5 UTC", "2025-07-01T12:34:56.5Z"),
        ("2025-07-01T01:00:00+02:00", "2025-06-30T23:00:00Z"),
        ("2025-07-01T23:30:00-0100", "2025-07-02T00:30:00Z"),
        ("2025-07-01T12:00:00.25+05", "2025-07-01T07:00:00.25Z"),
        ("2025-07-01 12:00", "2025-07-01T12:00:00Z"),
        ("2025-07-01", "2025-07-01T00:00:00Z"),
        (" 2025-07-01 00:00:00 ", "2025-07-01T00:00:00Z"),
        ("2025-07-01T12:34:56.1234567Z", "2025-07-01T12:34:56.123456Z"),  # to the microsecond: parquet holds no more
        ("2025-07-01 12:34:56.123456789+01:00", "2025-07-01T11:34:56.123456Z"),
        ("2025-07-01T01:00:00+23:59", "2025-06-30T01:01:00Z"),
    ],
)
def test_datetimes(value, expected):
    assert parse_datetime(value) == expected
    (rec,) = read(f"namespace,timestamp\norg,{value}\n".encode())
    assert rec["timestamp"] == expected


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2025-13-01 00:00:00", "2025-02-30", "2025-07-01 25:00:00", "2025-W27-1", "2025-07-01T01:00:00+25:00",
     "2025-07-01T01:00:00-00:60"],
)  # fmt: skip
def test_bad_datetime(value):
    with pytest.raises(ValueError):
        parse_datetime(value)
    with pytest.raises(CsvFormatError, match="column 'timestamp'"):
        read(f"namespace,timestamp\norg,{value}\n".encode())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2025-07-01", "2025-07-01"), ("2025-07-01 00:00:00", "2025-07-01"), ("2025-07-01T23:59:59+05:00", "2025-07-01")],
)
def test_dates(value, expected):
    assert parse_date(value) == expected
    (rec,) = read(f"namespace,action_day\norg,{value}\n".encode())
    assert rec["action_day"] == expected


def test_bad_date():
    with pytest.raises(CsvFormatError, match="data row 1, column 'action_day'"):
        read(b"namespace,action_day\norg,07/01/2025\n")


def test_a_bad_value_comes_after_every_row_before_it_whichever_column_holds_it():
    # the day goes bad at row 30, the time (a column typed after it) at row 12: the first bad row is 12, and the
    # 11 rows before it come out first, as they do when the Arrow lane reads the same file in small chunks
    rows = [f"pull_by_tag,2026-11-09,2026-11-09 10:00:{i:02d}" for i in range(1, 41)]
    rows[29] = "pull_by_tag,9th Nov,2026-11-09 10:00:30"
    rows[11] = "pull_by_tag,2026-11-09,noon"
    data = ("Action,Action day,Timestamp\n" + "\n".join(rows) + "\n").encode()
    got = []
    with pytest.raises(CsvFormatError, match=r"f\.csv: data row 12, column 'timestamp': 'noon'"):
        for batch in read_batches([data], RAW, label="f.csv"):
            got.append((batch.first_row, batch.count))
    assert got == [(1, 11)]


def test_truncated_gzip_at_every_byte():
    data = gzip.compress(SAMPLE)
    for cut in range(2, len(data)):
        with pytest.raises(TruncatedFileError, match=r"^f\.csv: "):
            read(data[:cut], SUMMARY)


def test_truncated_second_member():
    data = gzip.compress(SAMPLE[:40]) + gzip.compress(SAMPLE[40:])
    with pytest.raises(TruncatedFileError):
        read(data[:-3], SUMMARY)


def test_bad_crc_and_length():
    data = bytearray(gzip.compress(SAMPLE))
    crc, size = struct.unpack("<II", data[-8:])
    bad_crc = bytes(data[:-8]) + struct.pack("<II", crc ^ 1, size)
    bad_len = bytes(data[:-8]) + struct.pack("<II", crc, size + 1)
    for bad in (bad_crc, bad_len):
        with pytest.raises(TruncatedFileError, match=r"f\.csv: corrupt or truncated gzip data"):
            read(bad, SUMMARY)


def test_corrupt_gzip_body():
    data = bytearray(gzip.compress(SAMPLE * 20))
    data[30] ^= 0xFF
    with pytest.raises(TruncatedFileError):
        read(bytes(data), SUMMARY)


def test_trailing_garbage_after_gzip():
    with pytest.raises(TruncatedFileError):
        read(gzip.compress(SAMPLE) + b"garbage", SUMMARY)


@pytest.mark.parametrize("compress", [False, True])
def test_cut_last_line(compress):
    data = SAMPLE + b"myorg,app,x"
    if compress:
        data = gzip.compress(data)
    got = []
    with pytest.raises(TruncatedFileError, match="does not end with a newline"):
        for rec in iter_csv_records([data], SUMMARY, label="f.csv"):
            got.append(rec)
    # The complete rows may come first; the cut row itself is never emitted.
    assert len(got) <= 3
    assert all(rec["repository"] != "x" for rec in got) and all(rec["reference"] != "x" for rec in got)


def test_cut_inside_quoted_field_after_a_newline():
    data = SAMPLE + b'myorg,app,x,x,x,1,1,1,1,"first line\n'
    with pytest.raises(TruncatedFileError, match="inside a quoted field"):
        read(data, SUMMARY)


def test_header_only_is_an_empty_export():
    assert read(b"namespace,repository") == []
    assert read(b"namespace,repository\n") == []
    assert read(b"namespace,repository\r\n", chunk=1) == []
    assert read(gzip.compress(b"namespace,repository")) == []


@pytest.mark.parametrize("data", [b"", gzip.compress(b"", mtime=0)], ids=["plain", "gzip"])
def test_a_file_with_no_bytes_is_an_empty_export_and_says_so(data, caplog):
    with caplog.at_level(logging.WARNING):
        assert read(data) == []
    assert "f.csv: the file is empty (no header, no rows): 0 rows" in caplog.text


@pytest.mark.parametrize(
    "data",
    [b"<html><body>502 Bad Gateway</body></html>\n", b'{"detail":"Internal error"}\n', b"<?xml version='1.0'?>\n"],
)
def test_an_error_page_instead_of_csv(data):
    with pytest.raises(CsvFormatError, match=r"not CSV but looks like an HTML or JSON error page"):
        read(data)


@pytest.mark.parametrize("data", [b"\n", b" , \n", b"\xef\xbb\xbf\r\n"])
def test_no_header(data):
    with pytest.raises(CsvFormatError, match=r"^f\.csv: the file has no header row$"):
        read(data)


def test_no_known_column():
    with pytest.raises(CsvFormatError, match=r"f\.csv: .*'summary'.*\['foo', 'Bar'\]"):
        read(b"foo,Bar\n1,2\n", SUMMARY)


@pytest.mark.parametrize("compress", [False, True])
def test_bytes_that_are_not_utf8_are_read_as_cp1252_and_counted(compress, caplog):
    data = (
        b"namespace,repository,user agent tool\n"
        + b"org,ok,docker\n" * 3
        + b"org,caf\xe9,Mozilla/5.0 (Macintosh; caf\xe9)\n"
        + "org,utf8,caf\u00e9 \u2615\n".encode()
        + b"org,odd,\x80\x81 \xff\n"
    )
    if compress:
        data = gzip.compress(data)
    with caplog.at_level(logging.WARNING):
        recs = read(data, chunk=7)
    assert [r["repository"] for r in recs] == ["ok", "ok", "ok", "caf\u00e9", "utf8", "odd"]
    assert recs[3]["user_agent_tool"] == "Mozilla/5.0 (Macintosh; caf\u00e9)"
    assert recs[4]["user_agent_tool"] == "caf\u00e9 \u2615"  # valid UTF-8 stays as it is
    assert recs[5]["user_agent_tool"] == "\u20ac\x81 \u00ff"  # cp1252; its undefined 0x81 as Latin-1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "f.csv: 2 lines held bytes that are not UTF-8; they were read as Windows-1252 (cp1252), rows kept"
    ]


def test_utf8_split_across_chunks():
    data = "namespace,repository\norg,café ☕\n".encode()
    assert read(data, chunk=1)[0]["repository"] == "café ☕"


def test_file_layout_directly():
    layout = FileLayout(["Repository", "x", "Pull by tag", "namespace"], VIEWS["repo-summary"], label="L")
    assert layout.width == 4
    assert layout.unknown_headers == ["x"]
    assert layout.found == {"repository": 0, "pull_by_tag": 2, "repository_namespace": 3}
    assert layout.extra == {"x": 1}
    assert set(layout.missing) == {"unique_ip_count", "pull_by_digest", "version_check", "owner"}
    assert layout.typed == {2: "integer"}


def test_short_and_long_rows_in_one_batch():
    data = b"Repository,x,Pull by tag,namespace\nr,y,5,n\nr\nr,y,5,n,z\n"
    recs = read(data, VIEWS["repo-summary"])
    assert recs[0]["extra_columns"] == {"x": "y"} and recs[0]["pull_by_tag"] == 5
    assert recs[1]["pull_by_tag"] is None and recs[1]["extra_columns"] == {"x": None}
    assert recs[2]["extra_columns"] == {"x": "y", "_extra_1": "z"}
    # every record gets its own extra_columns dict
    assert recs[0]["extra_columns"] is not recs[2]["extra_columns"]


def test_chunks_may_be_bytearrays_and_empty():
    chunks = [b"", bytearray(b"namespace,repo"), b"", memoryview(b"sitory\norg,r\n")]
    (rec,) = iter_csv_records(chunks, RAW, label="f")
    assert rec["repository"] == "r"


def test_highly_compressible_gzip_in_small_and_large_chunks():
    rows = 50_000
    data = gzip.compress(b"namespace,repository\n" + b"org,r\n" * rows, 9)
    for size in (len(data), 100, 7):
        assert (
            sum(1 for _ in iter_csv_records([data[i : i + size] for i in range(0, len(data), size)], RAW, label="f"))
            == rows
        )


def test_gunzip_round_trip_random():
    import random

    from tap_dockerdvp.files.reader import decompressed

    rnd = random.Random(7)
    for _ in range(60):
        parts = [
            b"".join(
                b"a" * rnd.randrange(1, 3000) if rnd.random() < 0.5 else rnd.randbytes(rnd.randrange(0, 50))
                for _ in range(rnd.randrange(0, 20))
            )
            for _ in range(rnd.randrange(1, 4))
        ]
        data = b"".join(gzip.compress(p, rnd.choice([1, 6, 9])) for p in parts)
        step = rnd.choice([1, 3, 17, 1000])
        blocks = list(decompressed([data[i : i + step] for i in range(0, len(data), step)], "f"))
        assert all(len(block) <= 1 << 20 for block in blocks)
        assert b"".join(blocks) == b"".join(parts)


def test_csv_error_becomes_format_error():
    from tap_dockerdvp.files.reader import FIELD_LIMIT

    data = b"namespace,repository\norg," + b"x" * (FIELD_LIMIT + 1) + b"\n"  # past the reader's bound on a value
    with pytest.raises(CsvFormatError, match=r"f\.csv: bad CSV near data row 1"):
        read(data)


def test_blank_value_in_integer_column_is_null():
    (rec,) = read(b"namespace,pull_by_tag\norg,  \n", VIEWS["repo-summary"])
    assert rec["pull_by_tag"] is None


@pytest.mark.parametrize(
    "header",
    ["Action,User Agent,User agent tool,Owner", "Action,User agent tool,User Agent,Owner"],
    ids=["alias first", "name first"],
)
def test_a_header_spelled_as_the_columns_own_name_wins_over_an_alias(header: str) -> None:
    # `User Agent` (an alias of user_agent_tool) before `User agent tool` took the tool's column, and the tool
    # went to the extra columns
    values = {
        "Action": "pull_by_tag",
        "User Agent": "docker/24.0.7 go/go1.20",
        "User agent tool": "docker",
        "Owner": "x",
    }
    names = header.split(",")
    (rec,) = read((header + "\n" + ",".join(values[n] for n in names) + "\n").encode())
    assert rec["user_agent_tool"] == "docker"
    assert rec["extra_columns"] == {"User Agent": "docker/24.0.7 go/go1.20"}


def _moments():
    """Docker's form at every boundary of its fields, valid and not."""
    for year in ("0000", "0001", "1900", "2000", "2023", "2024", "9999"):
        for month in ("00", "01", "02", "04", "12", "13"):
            for day in ("00", "01", "28", "29", "30", "31", "32"):
                yield f"{year}-{month}-{day} 00:00:00"
    for sep in (" ", "T", "t", "_"):
        for clock in ("00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "9:00:00", "09:00:0", "09:00:00Z"):
            yield f"2026-11-09{sep}{clock}"


def _parsed(value):
    try:
        return parse_datetime(value)
    except ValueError:
        return None


@pytest.mark.parametrize("value", list(_moments()))
def test_a_column_in_dockers_form_is_typed_as_each_value_is(value):
    """``plain_datetimes`` (a column at a time) is ``parse_datetime`` of each value, or declines (None) and leaves
    the value to it; it declines nothing ``parse_datetime`` takes in Docker's form, and takes nothing it rejects."""
    expected = _parsed(value)
    for column in ([value], ["2026-11-09 00:00:00", value, "2024-02-29T12:00:00"]):
        got = plain_datetimes(column)
        if expected is None:
            assert got is None
        else:
            assert got is None or got == [_parsed(v) for v in column]
    if expected is not None and len(value) == 19 and value[10] in " T":
        assert plain_datetimes([value]) is not None  # Docker's form is the fast way


def test_a_value_holding_a_line_break_is_no_plain_date_time():
    assert plain_datetimes(["2026-11-09 00:00:00\n2026-11-09 00:00:01"]) is None
    assert plain_datetimes([" 2026-11-09 00:00:00"]) is None and plain_datetimes([""]) is None
    assert plain_datetimes([]) == []
