"""`make demo`: a full refresh of every asset on the demo world, then the latest week's funnel and report."""

from __future__ import annotations

import contextlib
import os
import sys
import time

import dagster as dg

from orchestration.partitions import full_refresh_tags
from orchestration.settings import Settings
from orchestration.summary import format_summary, funnel_summary, today_in


def main() -> int:
    settings = Settings.from_env()
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    from orchestration.definitions import defs  # after the env is read, like `dagster dev` does

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    started = time.perf_counter()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the UI has the full logs
    log_path = settings.warehouse_path.parent / "demo_run.log"
    # dbt's own console output goes to a file; the summary is what the terminal is for.
    with open(log_path, "w") as log, contextlib.redirect_stdout(log):
        result = defs.resolve_job_def("full_refresh").execute_in_process(
            instance=instance, run_config=quiet, raise_on_error=False, tags=full_refresh_tags()
        )
    elapsed = time.perf_counter() - started
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(f"Run {result.run_id} failed in steps {failed}; dbt's output is in {log_path},")
        print("and the full run log in the Dagster UI (`make dev`, Runs tab).")
        return 1
    print(f"Materialized every asset in {elapsed:.1f} s into {settings.warehouse_path}")
    print(f"Audited and published for BI to {settings.serving_file}")
    summary = funnel_summary(settings.warehouse_path, today_in(settings))
    print(format_summary(summary) if summary else "No complete week in the data yet.")
    if summary:
        return weekly_snapshot(defs, instance, summary.week_start.isoformat(), quiet)
    return 0


def weekly_snapshot(defs: dg.Definitions, instance: dg.DagsterInstance, partition: str, run_config: dict) -> int:
    """Freeze the latest complete week and write its report, as the Monday 07:00 schedule does."""
    started = time.perf_counter()
    result = defs.resolve_job_def("weekly_kpi_snapshot").execute_in_process(
        instance=instance, partition_key=partition, run_config=run_config, raise_on_error=False
    )
    if not result.success:
        print(f"Weekly snapshot run {result.run_id} failed; see the Dagster UI (`make dev`).")
        return 1
    report = next(
        e.materialization.metadata["report"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[-1] == "weekly_kpi_report"
    )
    print(f"Snapshot of week {partition} frozen in snapshots.kpi_snapshot; report: {report}"
          f" ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
