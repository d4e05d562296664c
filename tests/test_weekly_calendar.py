"""ISO weeks in the agreement's reporting time zone: partitions, labels, the Monday 07:00 schedule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from orchestration.weekly.calendar import (
    WEEKLY_PARTITIONS,
    iso_week_label,
    last_complete_week,
    week_of,
    week_start,
)

MADRID = ZoneInfo("Europe/Madrid")
UTC = dt.UTC


def test_partitions_are_mondays_and_the_newest_is_the_week_just_ended():
    now = dt.datetime(2026, 11, 23, 7, 0, tzinfo=MADRID)
    keys = WEEKLY_PARTITIONS.get_partition_keys(current_time=now)
    assert keys[0] == "2025-11-24"
    assert keys[-1] == "2026-11-16"
    assert all(dt.date.fromisoformat(k).isoweekday() == 1 for k in keys)
    # Sunday 23:30 in Madrid: the week of 2026-11-16 has not ended yet.
    sunday_night = dt.datetime(2026, 11, 22, 23, 30, tzinfo=MADRID)
    assert WEEKLY_PARTITIONS.get_partition_keys(current_time=sunday_night)[-1] == "2026-11-09"


def test_partition_window_is_monday_midnight_madrid_across_dst():
    # DST starts on Sunday 2026-03-29: that week is 167 hours long, in Madrid time.
    window = WEEKLY_PARTITIONS.time_window_for_partition_key("2026-03-23")
    assert window.start == dt.datetime(2026, 3, 23, 0, 0, tzinfo=MADRID)
    assert window.end == dt.datetime(2026, 3, 30, 0, 0, tzinfo=MADRID)
    assert window.start.astimezone(UTC) == dt.datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert window.end.astimezone(UTC) == dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert window.end.astimezone(UTC) - window.start.astimezone(UTC) == dt.timedelta(hours=167)


def test_week_of_uses_the_reporting_time_zone():
    # Sunday 23:30 UTC is already Monday 00:30 in Madrid: the next ISO week.
    assert week_of(dt.datetime(2026, 11, 15, 23, 30, tzinfo=UTC)) == dt.date(2026, 11, 16)
    assert week_of(dt.datetime(2026, 11, 15, 22, 59, tzinfo=UTC)) == dt.date(2026, 11, 9)
    # Summer time (UTC+2): Sunday 22:30 UTC is Monday 00:30 in Madrid.
    assert week_of(dt.datetime(2026, 6, 14, 22, 30, tzinfo=UTC)) == dt.date(2026, 6, 15)
    assert last_complete_week(dt.datetime(2026, 11, 23, 7, 0, tzinfo=MADRID)) == dt.date(2026, 11, 16)
    with pytest.raises(ValueError, match="aware"):
        week_of(dt.datetime(2026, 11, 15, 23, 30))


@pytest.mark.parametrize(
    ("monday", "label"),
    [("2026-11-16", "2026-W47"), ("2025-12-29", "2026-W01"), ("2026-12-28", "2026-W53"), ("2027-01-04", "2027-W01")],
)
def test_iso_week_labels_at_year_boundaries(monday, label):
    assert iso_week_label(dt.date.fromisoformat(monday)) == label


def test_partition_key_must_be_a_monday():
    assert week_start("2026-11-16") == dt.date(2026, 11, 16)
    with pytest.raises(ValueError, match="not a Monday"):
        week_start("2026-11-17")


def test_schedule_runs_monday_0700_madrid_for_the_week_just_ended():
    from orchestration.assets.weekly import weekly_snapshot_schedule

    assert weekly_snapshot_schedule.cron_schedule == "0 7 * * 1"
    assert weekly_snapshot_schedule.execution_timezone == "Europe/Madrid"
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 23, 7, 0, tzinfo=MADRID))
    requests = weekly_snapshot_schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-11-16"]
    # The Monday after the switch to summer time still targets the week that just ended.
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 3, 30, 7, 0, tzinfo=MADRID))
    assert [r.partition_key for r in weekly_snapshot_schedule.evaluate_tick(context).run_requests] == ["2026-03-23"]


def _agreement_in(tmp_path, timezone: str):
    from orchestration.agreement import DEFAULT_AGREEMENT_PATH

    text = DEFAULT_AGREEMENT_PATH.read_text(encoding="utf-8")
    old = "reporting:\n  currency: EUR\n  timezone: Europe/Madrid"
    assert old in text
    path = tmp_path / "agreement.yml"
    path.write_text(text.replace(old, f"reporting:\n  currency: EUR\n  timezone: {timezone}"), encoding="utf-8")
    return path


def test_weeks_and_schedule_follow_the_agreements_time_zone():
    from orchestration.agreement import load_agreement
    from orchestration.assets.weekly import weekly_snapshot_schedule
    from orchestration.weekly.calendar import REPORTING_TIMEZONE

    timezone = load_agreement().reporting.timezone
    assert REPORTING_TIMEZONE == WEEKLY_PARTITIONS.timezone == timezone
    assert weekly_snapshot_schedule.execution_timezone == timezone


def test_another_agreement_time_zone_moves_the_weeks_and_the_schedule(tmp_path):
    from orchestration.weekly.calendar import agreement_timezone, weekly_partitions

    path = _agreement_in(tmp_path, "America/New_York")
    timezone = agreement_timezone(path, daily_timezone="America/New_York")
    assert timezone == "America/New_York"
    partitions = weekly_partitions(timezone)
    job = dg.define_asset_job("weekly_ny", selection=dg.AssetSelection.all(), partitions_def=partitions)
    schedule = dg.build_schedule_from_partitioned_job(job, hour_of_day=7, minute_of_hour=0, day_of_week=1)
    assert schedule.cron_schedule == "0 7 * * 1"
    assert schedule.execution_timezone == "America/New_York"
    new_york = ZoneInfo("America/New_York")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 23, 7, 0, tzinfo=new_york))
    assert [r.partition_key for r in schedule.evaluate_tick(context).run_requests] == ["2026-11-16"]
    window = partitions.time_window_for_partition_key("2026-11-16")
    assert window.start == dt.datetime(2026, 11, 16, 0, 0, tzinfo=new_york)
    assert window.start.astimezone(UTC) == dt.datetime(2026, 11, 16, 5, 0, tzinfo=UTC)


def test_definitions_refuse_to_load_when_the_agreement_and_daily_time_zones_differ(tmp_path):
    import os
    import subprocess
    import sys

    from orchestration.weekly.calendar import TimezoneMismatchError, agreement_timezone

    path = _agreement_in(tmp_path, "America/New_York")
    with pytest.raises(TimezoneMismatchError, match="'America/New_York'.*'Europe/Madrid'"):
        agreement_timezone(path, daily_timezone="Europe/Madrid")
    # The code location itself: loading the definitions fails, naming both time zones.
    env = {**os.environ, "SMARKETING_AGREEMENT": str(path), "SMARKETING_WAREHOUSE": str(tmp_path / "w.duckdb")}
    done = subprocess.run([sys.executable, "-c", "import orchestration.definitions"], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode != 0
    assert "TimezoneMismatchError" in done.stderr and "America/New_York" in done.stderr
