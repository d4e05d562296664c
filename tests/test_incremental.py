"""Daily partitions: the incremental path (a backfill, then day-by-day runs) builds exactly the marts a
full refresh builds, and a one-day run only reloads its window.

Two warehouses are built from the same demo-world files: A in one full-refresh run; B in a full refresh
up to 2026-11-15, then a three-day incremental backfill (11-16..11-18, one run), then the run for the
newest day, whose late-arriving window (3 days) covers 11-19..11-21. Every mart table must then be
identical.
"""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from orchestration.partitions import DAILY_PARTITIONS, full_refresh_tags, partition_tags

SCALE = 0.02
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
BUILD_GROUPS = ("raw", "reference", "staging", "intermediate", "marts")


@pytest.fixture(scope="module")
def builds(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("incremental")
    monkeypatch_module.setenv("SMARKETING_DEMO_DIR", str(root / "demo_world"))
    monkeypatch_module.setenv("SMARKETING_DEMO_SCALE", str(SCALE))
    monkeypatch_module.setenv("SMARKETING_SERVING", str(root / "serving.duckdb"))
    from orchestration.definitions import build_definitions
    from orchestration.settings import Settings

    def run(warehouse: str, tags: dict[str, str], with_world: bool = False) -> dg.ExecuteInProcessResult:
        monkeypatch_module.setenv("SMARKETING_WAREHOUSE", str(root / warehouse))
        defs = build_definitions(Settings.from_env())
        selection = dg.AssetSelection.groups(*BUILD_GROUPS)
        if with_world:
            selection |= dg.AssetSelection.assets("demo_world")
        result = defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), run_config=QUIET, tags=tags,
            asset_selection=list(selection.resolve(defs.resolve_asset_graph())),
        )  # fmt: skip
        assert result.success
        return result

    full = run("full.duckdb", full_refresh_tags(), with_world=True)
    backfill = run("incremental.duckdb", full_refresh_tags("2026-11-15"))
    three_days = run("incremental.duckdb", partition_tags("2026-11-16", "2026-11-18"))
    newest = run("incremental.duckdb", partition_tags("2026-11-22"))
    return {"root": root, "full": full, "runs": [backfill, three_days, newest]}


def _mart_tables(con: duckdb.DuckDBPyConnection, db: str) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = 'marts' order by 1", [db]
    ).fetchall()
    return [r[0] for r in rows]


def test_incremental_path_builds_the_same_marts_as_a_full_refresh(builds):
    con = duckdb.connect()
    con.execute(f"attach '{builds['root'] / 'full.duckdb'}' as full_build (read_only)")
    con.execute(f"attach '{builds['root'] / 'incremental.duckdb'}' as incremental_build (read_only)")
    tables = _mart_tables(con, "full_build")
    assert {"fct_web_sessions", "fct_touchpoints", "fct_lead_stage_history", "fct_ad_spend_daily"} <= set(tables)
    assert _mart_tables(con, "incremental_build") == tables
    for table in tables:
        full, incremental = f"full_build.marts.{table}", f"incremental_build.marts.{table}"
        rows = con.execute(f"select count(*) from {full}").fetchone()[0]
        assert con.execute(f"select count(*) from {incremental}").fetchone()[0] == rows, table
        # Same multiset of rows, both ways (except all keeps duplicates).
        for a, b in ((full, incremental), (incremental, full)):
            diff = con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[0]
            assert diff == 0, f"{table}: {diff} rows of {a} are not in {b}"


def test_a_partial_run_reloads_only_its_window(builds):
    newest = builds["runs"][-1]
    loads = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in newest.get_asset_materialization_events()
        if e.asset_key.path[0] == "raw_web"
    }
    sessions = loads["raw_web/sessions"]
    # Open-ended only while 2026-11-22 is still the newest partition; later it ends with its day.
    end = "latest" if DAILY_PARTITIONS.get_last_partition_key() == "2026-11-22" else "2026-11-23"
    assert sessions["window"].value == f"2026-11-19..{end}"
    con = duckdb.connect(str(builds["root"] / "full.duckdb"), read_only=True)
    # Sessions from 2026-11-19 00:00 Madrid (23:00 UTC the day before) onwards, recomputed here.
    expected = con.execute(
        "select count(*) from raw_web.sessions where session_started_at >= timestamp '2026-11-18 23:00:00'"
    ).fetchone()[0]
    assert 0 < sessions["rows_in"].value == sessions["rows_loaded"].value == expected
    assert expected < con.execute("select count(*) from raw_web.sessions").fetchone()[0] / 20
