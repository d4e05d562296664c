"""ISO weeks in the agreement's reporting time zone: the snapshot's partitions and their labels.

The time zone is agreement.yml's ``reporting.timezone`` (the one dbt puts every funnel date in), read
when the code location loads; the Monday 07:00 schedule is built from these partitions, so it runs in
that zone too. The daily partitions use ``Settings.reporting_timezone``: when the two differ, loading
fails here rather than cutting days and weeks at different midnights.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.agreement import load_agreement
from orchestration.settings import Settings

# The Monday of the demo world's first complete week (it covers the 365 days before 2026-11-22).
FIRST_WEEK = "2025-11-24"


class TimezoneMismatchError(ValueError):
    """agreement.yml's reporting time zone is not the daily partitions' one."""


def agreement_timezone(agreement_path: Path | None = None, daily_timezone: str | None = None) -> str:
    """agreement.yml's reporting time zone, checked against the daily partitions' time zone."""
    settings = Settings.from_env()
    agreement = load_agreement(agreement_path or settings.agreement_path)
    timezone = agreement.reporting.timezone
    daily = daily_timezone or settings.reporting_timezone
    if timezone != daily:
        raise TimezoneMismatchError(
            f"agreement.yml's reporting.timezone is {timezone!r} but the daily partitions use {daily!r} "
            "(Settings.reporting_timezone): weeks and days would start at different midnights. "
            "Make them the same."
        )
    return timezone


def weekly_partitions(timezone: str) -> dg.WeeklyPartitionsDefinition:
    """Weeks starting Monday 00:00 in ``timezone`` (day_offset=1); a partition exists once its week has
    ended, so the newest one is always the week just ended."""
    return dg.WeeklyPartitionsDefinition(start_date=FIRST_WEEK, day_offset=1, timezone=timezone, fmt="%Y-%m-%d")


REPORTING_TIMEZONE = agreement_timezone()
WEEKLY_PARTITIONS = weekly_partitions(REPORTING_TIMEZONE)


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
