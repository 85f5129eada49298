"""Which fresh URL an export file gets when its URL expired: its own, whatever the new listing's order."""

from __future__ import annotations

from tap_dockerdvp.streams.exports import fresh_files
from tap_dockerdvp.streams.period_files import PeriodFile


def files(*urls: str) -> list[PeriodFile]:
    return [PeriodFile(url=url) for url in urls]


def test_each_file_gets_the_url_with_its_own_path_in_any_order() -> None:
    old = files("https://s3/a/0.csv.gz?sig=old", "https://s3/a/1.csv.gz?sig=old")
    new = files("https://s3/a/1.csv.gz?sig=new", "https://s3/a/0.csv.gz?sig=new")
    assert [f.url for f in fresh_files(old, new)] == ["https://s3/a/0.csv.gz?sig=new", "https://s3/a/1.csv.gz?sig=new"]


def test_a_file_no_longer_listed_has_none() -> None:
    old = files("https://s3/a/0.csv.gz?sig=old", "https://s3/a/1.csv.gz?sig=old")
    new = files("https://s3/a/0.csv.gz?sig=new", "https://s3/a/2.csv.gz?sig=new")
    assert [f and f.url for f in fresh_files(old, new)] == ["https://s3/a/0.csv.gz?sig=new", None]


def test_paths_that_do_not_tell_files_apart_leave_the_position() -> None:
    same_path = files("https://api/download?file=0&sig=old", "https://api/download?file=1&sig=old")
    again = files("https://api/download?file=0&sig=new", "https://api/download?file=1&sig=new")
    assert fresh_files(same_path, again) == again
    opaque = files("https://cdn/x1?sig=old", "https://cdn/x2?sig=old")
    renamed = files("https://cdn/y1?sig=new", "https://cdn/y2?sig=new")  # new paths at every listing
    assert fresh_files(opaque, renamed) == renamed
