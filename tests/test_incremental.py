"""Daily partitions: the incremental path (a backfill, then day-by-day runs) builds exactly the marts a
full refresh builds, and a one-day run only reloads its window.

Two warehouses are built from the same demo-world files: A in one full-refresh run; B in a full refresh
up to 2026-11-15, then a three-day incremental backfill (11-16..11-18, one run), then the run for the
newest day, whose late-arriving window (3 days) covers 11-19..11-21. Every mart table must then be
identical.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.agreement import load_agreement
from orchestration.partitions import DAILY_PARTITIONS, full_refresh_tags, partition_tags

SCALE = 0.02
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
BUILD_GROUPS = ("raw", "reference", "staging", "intermediate", "marts")
ROOT = Path(__file__).resolve().parent.parent
# The window of the newest day's run (2026-11-22 and 3 late days: from 2026-11-19 00:00 Madrid).
NEWEST_WINDOW = {"SMARKETING_WINDOW_START": "2026-11-18 23:00:00", "SMARKETING_WINDOW_START_DATE": "2026-11-19"}


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


def test_daily_data_tests_still_fail_on_what_the_window_touched(builds, tmp_path):
    """In a daily run the large tables' tests read only what the window rebuilt (macro
    get_where_subquery), yet a duplicate across the window's boundary (a session, a person's journey)
    and a wrong Markov credit (a model every daily run recomputes) still fail them."""
    db = tmp_path / "incremental.duckdb"  # the file's name is the catalog the views were created in
    shutil.copy(builds["root"] / "incremental.duckdb", db)
    con = duckdb.connect(str(db))
    # A session of the window again, dated a month earlier: the old copy a bad rebuild would leave.
    con.execute(
        "insert into marts.fct_web_sessions select * replace (session_started_at - interval 30 day as session_started_at)"
        " from marts.fct_web_sessions where session_started_at >= timestamp '2026-11-18 23:00:00' limit 1"
    )
    # The same for a person's journey rebuilt in the window: the stale path a bad rebuild would leave.
    con.execute(
        "insert into intermediate.int_attribution_person_paths select * replace (last_touched_at - interval 30 day"
        " as last_touched_at) from intermediate.int_attribution_person_paths"
        " where last_touched_at >= timestamp '2026-11-18 23:00:00' limit 1"
    )
    # One Markov credit halved: its conversion's credits no longer sum to 1.
    con.execute(
        "update marts.fct_attribution_credits set credit = credit / 2 where touchpoint_credit_id = ("
        " select max(touchpoint_credit_id) from marts.fct_attribution_credits where attribution_model = 'markov' and credit > 0)"
    )
    con.close()
    target = tmp_path / "target"
    command = [
        str(Path(sys.executable).with_name("dbt")), "test", "--select", "fct_web_sessions fct_attribution_credits int_attribution_person_paths",
        "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
        "--target-path", str(target), "--log-path", str(target / "logs"),
        "--vars", json.dumps(load_agreement(ROOT / "agreement.yml").dbt_vars()),
    ]  # fmt: skip
    env = {**os.environ, "SMARKETING_WAREHOUSE": str(db), **NEWEST_WINDOW}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 1, done.stdout[-3000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    failed = {r["unique_id"].split(".")[2]: r["failures"] for r in results if r["status"] == "fail"}
    assert failed == {
        "unique_fct_web_sessions_session_id": 1,
        "assert_attribution_credits_sum_to_one": 1,
        "unique_int_attribution_person_paths_person_id": 1,
    }
    # The tests did read the window only: the uniqueness test's SQL names its start.
    compiled = next(target.rglob("unique_fct_web_sessions_session_id.sql")).read_text()
    assert "session_started_at >= cast('2026-11-18 23:00:00' as timestamp)" in compiled


def test_a_daily_run_invokes_dbt_once_and_gives_every_model_and_test_its_window(builds):
    """One dbt invocation per run: the daily models get the window to rebuild; the models rebuilt whole
    get it for their tests (the raw web tables' uniqueness tests read the rows the day's load replaced)."""
    run_id = builds["runs"][-1].run_id[:7]
    target = ROOT / "dbt_project" / "target"
    invocations = list(target.glob(f"*-{run_id}-*/run_results.json"))
    assert len(invocations) == 1, invocations
    for test in ("unique_stg_web__sessions_session_id", "unique_fct_web_sessions_session_id"):
        compiled = [p.read_text() for p in invocations[0].parent.glob(f"compiled/**/{test}.sql")]
        assert len(compiled) == 1, test
        assert "session_started_at >= cast('2026-11-18 23:00:00' as timestamp)" in compiled[0]
