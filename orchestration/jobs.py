"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

from orchestration.partitions import DAILY_PARTITIONS, FULL_REFRESH_TAG
from orchestration.settings import Settings

# The weekly snapshot and report are partitioned by week and run on their own schedule.
DAILY_FLOW = dg.AssetSelection.all() - dg.AssetSelection.groups("weekly")

# The whole flow, sources to published marts: one run, in one process (DuckDB has a single writer).
# Partitioned by day: a run for one day loads and rebuilds that day plus the late-arriving window.
all_assets_job = dg.define_asset_job(
    name="daily_refresh",
    selection=DAILY_FLOW,
    partitions_def=DAILY_PARTITIONS,
    description="Load every source into raw, then build and test every dbt model, audit and publish.",
)

# The same flow rebuilding everything up to the chosen day (what `make demo` runs).
full_refresh_job = dg.define_asset_job(
    name="full_refresh",
    selection=DAILY_FLOW,
    partitions_def=DAILY_PARTITIONS,
    tags={FULL_REFRESH_TAG: "true"},
    description="Reload every source whole and rebuild every model from scratch, up to the chosen day.",
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
