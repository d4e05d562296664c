"""Jobs and schedules."""

from __future__ import annotations

import dagster as dg

from orchestration.settings import Settings

# The whole flow, demo world to marts: one run, in one process (DuckDB has a single writer).
all_assets_job = dg.define_asset_job(
    name="daily_refresh",
    # The weekly snapshot and report are partitioned by week and run on their own schedule.
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("weekly"),
    description="Load every source into raw, then build and test every dbt model.",
)


def daily_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="daily_refresh_schedule",
        job=all_assets_job,
        cron_schedule="0 6 * * *",
        execution_timezone=settings.reporting_timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every morning at 06:00 in the reporting time zone, after the sources' nightly exports.",
    )
