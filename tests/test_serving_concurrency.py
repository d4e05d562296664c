"""BI readers on the serving file while publications land: never an error, never a mix of builds.

Reader *processes* (as BI tools are) open the serving DuckDB file read-only in a loop and check that
every mart they see belongs to the build that ``meta.publication`` names, with the published row
counts. Meanwhile the main process publishes two different builds alternately. The same for the
Parquet copy: readers resolve ``current`` and read every file of that build while new builds land.
The serving file is also opened by a real DuckDB 1.1 driver (in a virtual environment of its own).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import struct
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import publish_marts, publish_parquet, read_publication
from tests.duckdb_1x import OLD_DUCKDB, python_with_duckdb_1x, read_with_duckdb_1x

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


def test_serving_file_is_readable_by_duckdb_1x(tmp_path, request):
    make_warehouse(tmp_path / "w.duckdb", "build-a", 10)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:  # the column types the marts use
        con.execute("""
            create table marts.fct_types as select
                range::bigint as id, 'lead-' || range as lead_id, range % 2 = 0 as flag,
                (range * 1.25)::decimal(18, 2) as amount, range / 3.0 as rate,
                timestamp '2026-11-16 08:30:00' + to_days(range::int) as at, date '2026-11-16' as week_start,
                ['Paid Search', 'Email'] as path, {'channel': 'Email', 'credit': 0.5} as touch
            from range(25)
        """)
        con.execute("create schema snapshots")
        con.execute("create table snapshots.kpi_snapshot as select 'leads' as kpi, 3.0 as value")
    serving = tmp_path / "serving.duckdb"
    publish_marts(tmp_path / "w.duckdb", serving, build_id="build-a")
    header = serving.read_bytes()[:20]
    assert header[8:12] == b"DUCK"
    # Storage version number 64 is the format DuckDB 0.10 and every 1.x release read.
    assert struct.unpack("<Q", header[12:20])[0] == 64
    assert read_publication(serving).build_id == "build-a"
    # The proof: an older DuckDB 1.x driver, in a process of its own, opens it and reads every value.
    python = python_with_duckdb_1x(request.config.cache.mkdir("duckdb-1x"))
    seen = read_with_duckdb_1x(python, serving, ["marts", "snapshots", "meta"])
    assert seen["version"] == OLD_DUCKDB
    expected = {**{f"marts.{t}": 10 * f for t, f in MARTS.items()}, "marts.fct_types": 25,
                "snapshots.kpi_snapshot": 1, "meta.publication": 1, "meta.published_tables": 5}  # fmt: skip
    assert {t: v["rows"] for t, v in seen["tables"].items()} == expected
    assert all(v["text_length"] > 0 for v in seen["tables"].values())


def test_parquet_copy_follows_the_publication(tmp_path):
    serving = tmp_path / "serving" / "smarketing.duckdb"
    parquet = tmp_path / "serving" / "parquet"
    sizes = {"build-a": 10, "build-b": 20, "build-c": 30}
    for build, size in sizes.items():
        make_warehouse(tmp_path / f"{build}.duckdb", build, size)
        publish_marts(tmp_path / f"{build}.duckdb", serving, build_id=build)
        publish_parquet(serving, parquet)
        with duckdb.connect() as con:
            rows = con.execute(
                f"select count(*), min(build), max(build) from read_parquet('{parquet}/current/kpi_weekly.parquet')"
            ).fetchone()
        assert rows == (size * MARTS["kpi_weekly"], build, build)
    # The current build and the one before it (a reader may still be in it) are kept; older ones go.
    assert sorted(p.name for p in (parquet / "builds").iterdir()) == ["build-b", "build-c"]
    assert os.readlink(parquet / "current") == "builds/build-c"
    manifest = json.loads((serving.parent / "smarketing.manifest.json").read_text())
    assert manifest["build_id"] == "build-c"
    # Republishing a build id never rewrites a folder a reader may be in: it gets a new one.
    publish_parquet(serving, parquet)
    assert sorted(p.name for p in (parquet / "builds").iterdir()) == ["build-c", "build-c.2"]
    assert os.readlink(parquet / "current") == "builds/build-c.2"


def test_parquet_copy_holds_the_snapshot_beside_the_marts(tmp_path):
    make_warehouse(tmp_path / "w.duckdb", "build-a", 3)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create schema snapshots")
        con.execute("create table snapshots.kpi_snapshot as select 'leads' as kpi, 3.0 as value")
    serving, parquet = tmp_path / "serving.duckdb", tmp_path / "parquet"
    publish_marts(tmp_path / "w.duckdb", serving, build_id="build-a")
    folder = publish_parquet(serving, parquet)
    # The marts stay what `current/*.parquet` globs; other schemas get a folder of their own.
    assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(f"{t}.parquet" for t in MARTS)
    with duckdb.connect() as con:
        assert con.execute(f"select * from '{parquet}/current/snapshots/kpi_snapshot.parquet'").fetchall() == [("leads", 3.0)]


def parquet_reader(parquet_dir: str, sizes: dict[str, int], stop, deadline: float, results) -> None:
    """Read the Parquet copy as README says, in a loop: resolve ``current`` once, then glob that build's
    folder and read all its marts in one query.

    (Globbing through the symlink, ``current/*.parquet``, is not safe across a flip whatever the
    publisher keeps: DuckDB opens a file more than once per query, and the path may name the next
    build's file the second time, which it reports as "Out of buffer".)"""
    reads, errors, builds = 0, [], set()
    current = Path(parquet_dir) / "current"
    with duckdb.connect() as con:
        while not stop.is_set() and time.time() < deadline:
            try:
                folder = Path(parquet_dir) / os.readlink(current)
                time.sleep(0.01)  # a reader is never instantaneous: a publish may land meanwhile
                rows = con.execute(
                    f"select parse_filename(filename, true), count(*), min(build), max(build) "
                    f"from read_parquet('{folder}/*.parquet', filename = true) group by all"
                ).fetchall()
                seen = {table: (n, lo, hi) for table, n, lo, hi in rows}
                build = folder.name
                expected = {table: (sizes[build] * factor, build, build) for table, factor in MARTS.items()}
                if seen != expected:
                    errors.append(f"{build}: {seen}")
                reads += 1
                builds.add(build)
            except Exception as exc:  # noqa: BLE001 - a reader must never see any error; record it
                errors.append(f"{type(exc).__name__}: {exc}")
    results.put({"reads": reads, "errors": errors[:5], "error_count": len(errors), "builds": sorted(builds)})


def test_parquet_readers_never_miss_a_file(tmp_path):
    sizes = {}
    serving = tmp_path / "serving" / "smarketing.duckdb"
    parquet = tmp_path / "serving" / "parquet"
    for i in range(PUBLISHES + 1):  # unique build ids, as Dagster run ids are
        sizes[f"build-{i}"] = 500 + 100 * (i % 2)

    def publish(build: str) -> None:
        warehouse = tmp_path / f"{build}.duckdb"
        make_warehouse(warehouse, build, sizes[build])
        publish_marts(warehouse, serving, build_id=build)
        publish_parquet(serving, parquet)
        warehouse.unlink()

    publish("build-0")
    ctx = mp.get_context("spawn")
    results, stop = ctx.Queue(), ctx.Event()
    deadline = time.time() + 120
    readers = [
        ctx.Process(target=parquet_reader, args=(str(parquet), sizes, stop, deadline, results)) for _ in range(READERS)
    ]
    for process in readers:
        process.start()
    time.sleep(2)
    for i in range(1, PUBLISHES + 1):
        publish(f"build-{i}")
    time.sleep(0.5)
    stop.set()
    reports = [results.get(timeout=150) for _ in readers]
    for process in readers:
        process.join(timeout=30)

    assert all(r["error_count"] == 0 for r in reports), reports
    assert sum(r["reads"] for r in reports) >= READERS * 10, reports
    assert len({b for r in reports for b in r["builds"]}) >= 3, reports
    assert len(list((parquet / "builds").iterdir())) == 2


@pytest.fixture(autouse=True)
def _no_leftover_temporary_files(tmp_path):
    yield
    leftovers = [p for p in tmp_path.rglob("*.tmp")]
    assert leftovers == []
