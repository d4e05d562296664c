"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import DAILY_PARTITIONS
from orchestration.settings import Settings

# The whole flow, sources to published marts: one run, in one process (DuckDB has a single writer).
# Partitioned by day: a run for one day loads and rebuilds that day plus the late-arriving window; a
# run over every partition (orchestration.partitions.full_refresh_tags) rebuilds everything.
all_assets_job = dg.define_asset_job(
    name="daily_refresh",
    # The weekly snapshot and report are partitioned by week and run on their own schedule.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("weekly"),
    partitions_def=DAILY_PARTITIONS,
    description="Load every source into raw, then build and test every dbt model, audit and publish.",
)


def daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    # Every morning at 06:00 in the reporting time zone, after the sources' nightly exports: yesterday's
    # partition (and the late-arriving days before it).
    return dg.build_schedule_from_partitioned_job(
        all_assets_job,
        name="daily_refresh_schedule",
        hour_of_day=6,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every morning at 06:00 (reporting time zone): yesterday, plus the late-arriving window.",
    )
