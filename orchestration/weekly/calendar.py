"""ISO weeks in the reporting time zone: the snapshot's partitions and their labels."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

REPORTING_TIMEZONE = "Europe/Madrid"
# The Monday of the demo world's first complete week (it covers the 365 days before 2026-11-22).
FIRST_WEEK = "2025-11-24"

# Weeks start on Monday 00:00 in the reporting time zone (day_offset=1); a partition exists once its
# week has ended, so the newest one is always the week just ended.
WEEKLY_PARTITIONS = dg.WeeklyPartitionsDefinition(
    start_date=FIRST_WEEK, day_offset=1, timezone=REPORTING_TIMEZONE, fmt="%Y-%m-%d"
)


def week_start(partition_key: str) -> dt.date:
    """The Monday a partition key names; anything else is a clear error."""
    day = dt.date.fromisoformat(partition_key)
    if day.isoweekday() != 1:
        raise ValueError(f"partition key {partition_key!r} is not a Monday (ISO weeks start on Monday)")
    return day


def iso_week_label(monday: dt.date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(moment: dt.datetime, timezone: str = REPORTING_TIMEZONE) -> dt.date:
    """Monday of the ISO week an aware instant falls in, seen in the reporting time zone."""
    if moment.tzinfo is None:
        raise ValueError("week_of needs an aware datetime (raw timestamps are naive UTC: attach UTC first)")
    local = moment.astimezone(ZoneInfo(timezone)).date()
    return local - dt.timedelta(days=local.isoweekday() - 1)


def last_complete_week(now: dt.datetime, timezone: str = REPORTING_TIMEZONE) -> dt.date:
    """The Monday of the last week that has fully ended at ``now``."""
    return week_of(now, timezone) - dt.timedelta(days=7)
