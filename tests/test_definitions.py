"""The code location loads as `make dev` loads it, with lineage from sources to marts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from ingestion.raw_schema import RAW_TABLES
from orchestration.definitions import defs

ROOT = Path(__file__).resolve().parent.parent


def test_workspace_validates_like_dagster_dev():
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "DAGSTER_HOME": ""}, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_raw_table_feeds_its_staging_model():
    graph = defs.resolve_asset_graph()
    for schema, tables in RAW_TABLES.items():
        source = schema.removeprefix("raw_")
        for table in tables:
            key = dg.AssetKey([schema, table])
            children = {c.to_user_string() for c in graph.get(key).child_keys}
            assert f"staging/stg_{source}__{table}" in children, (key, children)
            assert graph.get(key).parent_keys == {dg.AssetKey("demo_world")}


def test_lineage_runs_from_demo_world_to_the_marts():
    graph = defs.resolve_asset_graph()
    upstream = dg.AssetSelection.assets(["marts", "kpi_weekly"]).upstream().resolve(graph)
    assert dg.AssetKey("demo_world") in upstream
    assert dg.AssetKey(["raw_crm", "contacts"]) in upstream


def test_groups_follow_the_layers():
    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups["demo_world"] == "sources"
    assert groups["raw_crm/contacts"] == "raw"
    assert groups["staging/stg_crm__contacts"] == "staging"
    assert groups["marts/fct_leads"] == "marts"
    assert {"sources", "raw", "staging", "intermediate", "marts"} <= set(groups.values())


def test_daily_schedule_runs_the_whole_flow():
    schedule = defs.resolve_schedule_def("daily_refresh_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Europe/Madrid"
    job = defs.resolve_job_def("daily_refresh")
    graph = defs.resolve_asset_graph()
    weekly = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "weekly"}  # own weekly job
    assert set(job.asset_layer.selected_asset_keys) == set(graph.get_all_asset_keys()) - weekly
