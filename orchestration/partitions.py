"""Daily partitions: a daily run loads and transforms one day plus a window of late-arriving days.

Raw loads and the large marts (sessions, touchpoints, stage history, ad spend) are partitioned by day
in the reporting time zone. A run for one day reloads that day and ``late_arriving_days`` before it
(ad platforms restate recent days, CRM records change); a backfill over many days is one run (one
dbt invocation). A run without a partition, or one whose range starts at the first partition, is a
full refresh.
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


def load_window(context: dg.AssetExecutionContext) -> LoadWindow | None:
    """The window a partitioned asset's run covers; None when the run has no partition.

    A range starting at the first partition is a full refresh (no start); a run that includes the
    latest partition also takes whatever arrived after it (no end). Only for partitioned assets: an
    unpartitioned asset in a partitioned run also sees a partition key.
    """
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    window = context.partition_time_window
    start = None if window.start <= DAILY_PARTITIONS.start else window.start - dt.timedelta(days=LATE_ARRIVING_DAYS)
    latest = DAILY_PARTITIONS.get_last_partition_window()
    end = None if latest is None or window.end >= latest.end else window.end
    return LoadWindow(start=start, end=end)


def full_refresh_tags() -> dict[str, str]:
    """Run tags for a full refresh: one run over every daily partition (``make demo``, the tests)."""
    return {
        "dagster/asset_partition_range_start": DAILY_PARTITIONS.get_first_partition_key(),
        "dagster/asset_partition_range_end": DAILY_PARTITIONS.get_last_partition_key(),
    }
