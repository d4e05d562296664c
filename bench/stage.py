"""One benchmark stage in its own process: materialize a stage's selection, report JSON on stdout.

A separate process per stage makes peak memory (ru_maxrss, this process and its dbt children) a
per-stage figure rather than the maximum of the whole run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time

import dagster as dg

DBT_GROUPS = ("reference", "staging", "intermediate", "marts")


def stage_selection(stage: str) -> dg.AssetSelection:
    """What each stage runs. Great Expectations checks are their own stage; dbt tests stay with dbt."""
    from orchestration.assets.quality import quality_checks

    gx = dg.AssetSelection.checks(*quality_checks)
    selections = {
        "generate": dg.AssetSelection.assets("demo_world"),
        "ingest": dg.AssetSelection.groups("raw").without_checks(),
        "dbt": dg.AssetSelection.groups(*DBT_GROUPS) - gx,
        "checks": gx,
    }
    return selections[stage]


def _rows(result: dg.ExecuteInProcessResult) -> int:
    """Rows written (a partial raw load's rows loaded, else the table's row count) or rows checked."""
    rows = 0
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        value = metadata.get("rows_loaded") if "window" in metadata else metadata.get("dagster/row_count")
        rows += int(value.value) if value is not None else 0
    for evaluation in result.get_asset_check_evaluations():
        checked = evaluation.metadata.get("rows_checked")
        rows += int(checked.value) if checked is not None else 0
    return rows


def _latest_complete_week(last_day: str | None) -> str:
    """The newest week that ends on or before ``last_day`` (default: the demo world's last day)."""
    from orchestration.settings import Settings

    end = dt.date.fromisoformat(last_day) if last_day else Settings.from_env().demo_end_date
    monday = end - dt.timedelta(days=end.weekday())
    return (monday if end.weekday() == 6 else monday - dt.timedelta(days=7)).isoformat()


def run_publish() -> dict[str, object]:
    """The publish step's work: copy the audited marts to the serving file and swap it in.

    Called directly: the ``publish`` asset refuses a run that did not rebuild and audit the marts itself
    (write-audit-publish), and the benchmark runs dbt and the checks as stages of their own.
    """
    from orchestration.agreement import load_agreement
    from orchestration.publish import publish_marts
    from orchestration.settings import Settings

    settings = Settings.from_env()
    started = time.perf_counter()
    publication = publish_marts(
        settings.warehouse_path, settings.serving_file, build_id=f"bench-{time.time_ns()}",
        agreement_version=str(load_agreement(settings.agreement_path).version),
    )  # fmt: skip
    wall = time.perf_counter() - started
    return {
        "success": True,
        "run_id": "",
        "wall_seconds": round(wall, 3),
        "rows": sum(publication.tables.values()),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "selected": len(publication.tables),
        "failures": [],
    }


def _step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Wall seconds of each step (start to success or failure): where a stage's time goes in Dagster."""
    started, seconds = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.is_step_success or event.is_step_failure:
            seconds[event.step_key] = round(entry.timestamp - started.get(event.step_key, entry.timestamp), 2)
    return dict(sorted(seconds.items(), key=lambda item: -item[1]))


def run_stage(stage: str, partition: str | None, full_refresh: bool = False) -> dict[str, object]:
    if stage == "publish":
        return run_publish()
    from orchestration.definitions import defs
    from orchestration.partitions import DAILY_PARTITIONS, full_refresh_tags

    instance = dg.DagsterInstance.ephemeral()
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    if stage == "snapshot":  # the Monday job: freeze last week's KPIs and write the report
        job, kwargs = defs.resolve_job_def("weekly_kpi_snapshot"), {"partition_key": _latest_complete_week(partition)}
        selected = len(job.asset_layer.selected_asset_keys)
    else:
        selection = stage_selection(stage)
        job_def = dg.define_asset_job(f"bench_{stage}", selection=selection, partitions_def=DAILY_PARTITIONS)
        job = dg.Definitions.merge(defs, dg.Definitions(jobs=[job_def])).resolve_job_def(f"bench_{stage}")
        # A one-day run is a range of one partition (a checks-only run cannot take a partition key); a full
        # refresh rebuilds everything up to its partition (default: the newest).
        one_day = {"dagster/asset_partition_range_start": partition, "dagster/asset_partition_range_end": partition}
        kwargs = {"tags": full_refresh_tags(partition) if full_refresh or not partition else one_day}
        graph = defs.resolve_asset_graph()
        selected = len(selection.resolve(graph)) + len(selection.resolve_checks(graph))
    started = time.perf_counter()
    result = job.execute_in_process(instance=instance, run_config=quiet, raise_on_error=False, **kwargs)
    wall = time.perf_counter() - started
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    failures = [str(e.event_specific_data.error.message)[:2000] for e in result.all_events if e.is_step_failure]
    return {
        "success": result.success,
        "run_id": result.run_id,
        "wall_seconds": round(wall, 3),
        "rows": _rows(result),
        "peak_memory_mb": round(peak_kb / 1024, 1),
        "selected": selected,
        "failures": failures,
        "step_seconds": _step_seconds(instance, result.run_id),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stage", choices=["generate", "ingest", "dbt", "checks", "publish", "snapshot"])
    parser.add_argument("--partition", default=None, help="one daily partition; default: every partition")
    parser.add_argument("--full-refresh", action="store_true", help="rebuild everything up to --partition")
    args = parser.parse_args()
    report = run_stage(args.stage, args.partition, args.full_refresh)
    print("BENCH " + json.dumps(report))
    return 0 if report["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
