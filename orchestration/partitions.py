"""Daily partitions: a daily run loads and transforms one day plus a window of late-arriving days.

Raw loads and the large marts (sessions, touchpoints, stage history, ad spend) are partitioned by day
in the reporting time zone. A run for one day reloads that day and ``late_arriving_days`` before it
(ad platforms restate recent days, CRM records change); a backfill over many days is one run (one
dbt invocation per dbt definition). A run tagged ``smarketing/full_refresh=true`` (the ``full_refresh``
job), or one whose range starts at the first partition, reloads and rebuilds everything up to the end
of its partition.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from ingestion.raw_loader import LoadWindow
from orchestration.settings import Settings

_SETTINGS = Settings.from_env()
LATE_ARRIVING_DAYS = _SETTINGS.late_arriving_days

DAILY_PARTITIONS = dg.DailyPartitionsDefinition(
    start_date=_SETTINGS.partitions_start.isoformat(), timezone=_SETTINGS.reporting_timezone
)
# Backfills over many days run as one run, so dbt is invoked once for the whole range.
SINGLE_RUN = dg.BackfillPolicy.single_run()
FULL_REFRESH_TAG = "smarketing/full_refresh"


def load_window(context: dg.AssetExecutionContext | dg.OpExecutionContext) -> LoadWindow | None:
    """The window a partitioned asset's (or its check's) run covers; None when the run has no partition.

    Read from the run's partition tags, which asset checks see too. A full refresh has no start; a
    run that includes the latest partition also takes whatever arrived after it (no end).
    """
    tags = context.run.tags
    first = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    last = tags.get("dagster/asset_partition_range_end") or tags.get("dagster/partition")
    if not first or not last:
        return None
    window_start = DAILY_PARTITIONS.time_window_for_partition_key(first).start
    window_end = DAILY_PARTITIONS.time_window_for_partition_key(last).end
    full = tags.get(FULL_REFRESH_TAG) == "true" or window_start <= DAILY_PARTITIONS.start
    start = None if full else window_start - dt.timedelta(days=LATE_ARRIVING_DAYS)
    latest = DAILY_PARTITIONS.get_last_partition_window()
    end = None if latest is None or window_end >= latest.end else window_end
    return LoadWindow(start=start, end=end)


def partition_tags(first: str, last: str | None = None) -> dict[str, str]:
    """Run tags for a range of daily partitions (a single-run backfill), or for one day."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last or first}


def full_refresh_tags(partition: str | None = None) -> dict[str, str]:
    """Run tags for a full refresh up to ``partition`` (default: the newest), as ``make demo`` runs it.

    One partition rather than a range over every day: the same rebuild, without Dagster recording one
    materialization per day and asset.
    """
    return {**partition_tags(partition or DAILY_PARTITIONS.get_last_partition_key()), FULL_REFRESH_TAG: "true"}
