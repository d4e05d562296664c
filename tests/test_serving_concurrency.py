"""BI readers on the serving file while publications land: never an error, never a mix of builds.

Reader *processes* (as BI tools are) open the serving DuckDB file read-only in a loop and check that
every mart they see belongs to the build that ``meta.publication`` names, with the published row
counts. Meanwhile the main process publishes two different builds alternately.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import struct
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import publish_marts, publish_parquet, read_publication

MARTS = {"fct_leads": 1, "fct_lead_to_sale": 3, "kpi_weekly": 7}  # rows per build = factor x build size
READERS = 3
PUBLISHES = 12


def make_warehouse(path: Path, build: str, size: int) -> None:
    """A warehouse whose marts all carry the build's name, each with its own row count."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        for table, factor in MARTS.items():
            con.execute(
                f"create table marts.{table} as select ? as build, range as n from range(?)",
                [build, size * factor],
            )


def reader(serving: str, stop, deadline: float, results) -> None:
    reads, errors, builds = 0, [], set()
    while not stop.is_set() and time.time() < deadline:
        try:
            with duckdb.connect(serving, read_only=True) as con:
                build = con.execute("select build_id from meta.publication").fetchone()[0]
                expected = dict(con.execute("select table_name, row_count from meta.published_tables").fetchall())
                for table in MARTS:
                    seen = con.execute(f"select count(*), min(build), max(build) from marts.{table}").fetchone()
                    if seen != (expected[f"marts.{table}"], build, build):
                        errors.append(f"{table}: {seen} in publication {build} {expected}")
            reads += 1
            builds.add(build)
        except Exception as exc:  # noqa: BLE001 - a reader must never see any error; record it for the assertion
            errors.append(f"{type(exc).__name__}: {exc}")
    results.put({"reads": reads, "errors": errors[:5], "error_count": len(errors), "builds": sorted(builds)})


def test_readers_see_whole_publications_only(tmp_path):
    builds = {"build-a": 2_000, "build-b": 5_000}
    for build, size in builds.items():
        make_warehouse(tmp_path / f"{build}.duckdb", build, size)
    serving = tmp_path / "serving" / "smarketing.duckdb"
    publish_marts(tmp_path / "build-a.duckdb", serving, build_id="build-a")

    ctx = mp.get_context("spawn")
    results, stop = ctx.Queue(), ctx.Event()
    deadline = time.time() + 120  # a safety net; the readers stop when the publishing is over
    readers = [ctx.Process(target=reader, args=(str(serving), stop, deadline, results)) for _ in range(READERS)]
    for process in readers:
        process.start()
    time.sleep(2)  # let the readers start their loops
    for i in range(PUBLISHES):
        build = "build-b" if i % 2 == 0 else "build-a"
        publication = publish_marts(tmp_path / f"{build}.duckdb", serving, build_id=build)
        assert publication.tables["marts.kpi_weekly"] == builds[build] * MARTS["kpi_weekly"]
    time.sleep(0.5)
    stop.set()
    reports = [results.get(timeout=150) for _ in readers]
    for process in readers:
        process.join(timeout=30)

    assert all(r["error_count"] == 0 for r in reports), reports
    assert sum(r["reads"] for r in reports) >= READERS * 10, reports
    assert {b for r in reports for b in r["builds"]} == set(builds), reports


def test_serving_file_is_readable_by_duckdb_1x(tmp_path):
    make_warehouse(tmp_path / "w.duckdb", "build-a", 10)
    serving = tmp_path / "serving.duckdb"
    publish_marts(tmp_path / "w.duckdb", serving, build_id="build-a")
    header = serving.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    # Storage version number 64 is the format DuckDB 0.10 and every 1.x release read.
    assert struct.unpack("<Q", header[12:20])[0] == 64
    assert read_publication(serving).build_id == "build-a"


def test_parquet_copy_follows_the_publication(tmp_path):
    serving = tmp_path / "serving" / "smarketing.duckdb"
    parquet = tmp_path / "serving" / "parquet"
    for build, size in {"build-a": 10, "build-b": 20}.items():
        make_warehouse(tmp_path / f"{build}.duckdb", build, size)
        publish_marts(tmp_path / f"{build}.duckdb", serving, build_id=build)
        publish_parquet(serving, parquet)
        with duckdb.connect() as con:
            rows = con.execute(
                f"select count(*), min(build), max(build) from read_parquet('{parquet}/current/kpi_weekly.parquet')"
            ).fetchone()
        assert rows == (size * MARTS["kpi_weekly"], build, build)
    # Only the current build's folder is kept.
    assert [p.name for p in (parquet / "builds").iterdir()] == ["build-b"]
    manifest = json.loads((serving.parent / "smarketing.manifest.json").read_text())
    assert manifest["build_id"] == "build-b"


@pytest.fixture(autouse=True)
def _no_leftover_temporary_files(tmp_path):
    yield
    leftovers = [p for p in tmp_path.rglob("*.tmp")]
    assert leftovers == []
