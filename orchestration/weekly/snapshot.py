"""`snapshots.kpi_snapshot`: the shared KPIs of one ISO week, frozen.

Values come from the semantic layer (`mf query`), for the week and the week before it, per channel and
for all channels. The table belongs to the snapshot asset alone: dbt never rebuilds it, so later
corrections in the sources never rewrite a past week; re-running a week replaces that week only
(delete + insert in one transaction).
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import pandas as pd

from ingestion.warehouse import connect as connect_warehouse
from orchestration.agreement import Agreement
from orchestration.weekly.calendar import iso_week_label
from orchestration.weekly.metricflow import HELPER_METRICS, MetricDefinition, metric_definitions, mf_query

SCHEMA = "snapshots"
TABLE = f"{SCHEMA}.kpi_snapshot"
ALL_CHANNELS = "All channels"
SLOWEST_FOLLOW_UPS = 5
TOP_REJECTION_REASONS = 5

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {TABLE} (
    snapshot_week_start date not null,
    iso_week varchar not null,
    kpi varchar not null,
    kpi_label varchar not null,
    owner varchar not null,
    basis varchar not null,
    unit varchar not null,
    dimension varchar not null,
    dimension_value varchar not null,
    detail varchar,
    value double,
    previous_value double,
    wow_change double,
    wow_change_pct double,
    target_value double,
    target_gap double,
    snapshot_at timestamp not null,
    run_id varchar not null,
    primary key (snapshot_week_start, kpi, dimension, dimension_value)
);
"""

COLUMNS = [
    "snapshot_week_start", "iso_week", "kpi", "kpi_label", "owner", "basis", "unit", "dimension",
    "dimension_value", "detail", "value", "previous_value", "wow_change", "wow_change_pct",
    "target_value", "target_gap", "snapshot_at", "run_id",
]


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value)


def _kpi_rows(
    frame: pd.DataFrame, definitions: list[MetricDefinition], monday: dt.date, dimension: str, key: str | None
) -> list[dict]:
    previous_monday = monday - dt.timedelta(days=7)
    frame = frame[frame["metric_time__week"].isin([monday, previous_monday])]
    values = frame.set_index(["metric_time__week", key] if key else ["metric_time__week"])
    members = sorted({m for m in (frame[key] if key else [ALL_CHANNELS]) if isinstance(m, str)})
    rows = []
    for member in members:
        for definition in definitions:
            def lookup(week: dt.date, member: str = member, definition: MetricDefinition = definition) -> float | None:
                index = (week, member) if key else week
                if index not in values.index:
                    # No event at all that week: counts are 0, rates have no denominator.
                    return 0.0 if definition.additive else None
                return _number(values.loc[index, definition.name])

            value, previous = lookup(monday), lookup(previous_monday)
            change = value - previous if value is not None and previous is not None else None
            rows.append(
                {
                    "kpi": definition.name,
                    "kpi_label": definition.label,
                    "owner": definition.owner,
                    "basis": definition.basis,
                    "unit": definition.unit,
                    "dimension": dimension,
                    "dimension_value": member,
                    "detail": None,
                    "value": value,
                    "previous_value": previous,
                    "wow_change": change,
                    "wow_change_pct": change / previous if change is not None and previous else None,
                }
            )
    return rows


def compute_snapshot(warehouse: Path, monday: dt.date, agreement: Agreement) -> pd.DataFrame:
    """The KPI rows of the ISO week starting ``monday`` (without snapshot time and run id)."""
    definitions = [d for d in metric_definitions() if d.name not in HELPER_METRICS]
    names = [d.name for d in definitions]
    start, end = monday - dt.timedelta(days=7), monday + dt.timedelta(days=6)
    by_channel = mf_query(warehouse, names, ["metric_time__week", "channel"], start, end)
    total = mf_query(warehouse, names, ["metric_time__week"], start, end)
    rows = _kpi_rows(total, definitions, monday, "all", None)
    rows += _kpi_rows(by_channel, definitions, monday, "channel", "channel")
    for row in rows:
        row["target_value"] = None
    _set_targets(rows, warehouse, monday, agreement)
    rows += _slowest_follow_ups(warehouse, monday)
    rows += _agreement_rows(warehouse, monday)
    frame = pd.DataFrame(rows)
    frame["target_gap"] = [
        v - t if v is not None and t is not None and not pd.isna(v) and not pd.isna(t) else None
        for v, t in zip(frame["value"], frame["target_value"])
    ]
    frame.insert(0, "snapshot_week_start", monday)
    frame.insert(1, "iso_week", iso_week_label(monday))
    return frame


REVERSE_FUNNEL_WEEKS = 12


def _set_targets(rows: list[dict], warehouse: Path, monday: dt.date, agreement: Agreement) -> None:
    """Target versus actual: the MQL quota (all and per channel), and the reverse funnel from the
    revenue goal: weekly revenue = goal / 52, customers = revenue / agreed deal size, and each earlier
    stage = the next one / the all-channel period conversion of the last 12 complete weeks."""
    quota = agreement.marketing_commitments.weekly_mql_quota
    goal = agreement.marketing_commitments.revenue_goal
    targets: dict[tuple[str, str], float] = {("qualified_mqls", ALL_CHANNELS): float(quota.total)}
    targets |= {("qualified_mqls", channel): float(n) for channel, n in quota.by_channel.items()}
    revenue = goal.amount / 52
    targets[("revenue", ALL_CHANNELS)] = revenue
    needed = revenue / goal.average_deal_size
    targets[("customers", ALL_CHANNELS)] = needed
    with connect_warehouse(warehouse, read_only=True) as con:
        sums = con.execute(
            """
            select sum(leads), sum(mqls), sum(sqls), sum(opportunities), sum(customers)
            from marts.kpi_weekly
            where week_start_date >= ? and week_start_date < ?
            """,
            [monday - dt.timedelta(days=7 * REVERSE_FUNNEL_WEEKS), monday],
        ).fetchone()
    stages = ["leads", "mqls", "sqls", "opportunities", "customers"]
    for upper, lower, n_upper, n_lower in reversed(list(zip(stages, stages[1:], sums, sums[1:]))):
        if not n_upper or not n_lower:
            break
        needed = needed / (n_lower / n_upper)
        targets[(upper, ALL_CHANNELS)] = needed
    for row in rows:
        target = targets.get((row["kpi"], row["dimension_value"]))
        if target is not None:
            row["target_value"] = target


def _agreement_rows(warehouse: Path, monday: dt.date) -> list[dict]:
    """Commitments met or missed by each side (kpi_agreement_weekly) and the top rejection reasons."""
    with connect_warehouse(warehouse, read_only=True) as con:
        commitments = con.execute(
            """
            select party, commitment, channel, target, actual, is_met
            from marts.kpi_agreement_weekly
            where week_start_date = ?
            order by party, commitment, channel
            """,
            [monday],
        ).fetchall()
        reasons = con.execute(
            """
            select reason, count(distinct lead_id) as leads, string_agg(distinct rejected_by, ', ') as rejected_by
            from marts.lead_rejections
            where rejection_week_start_date = ?
            group by reason
            order by leads desc, reason
            limit ?
            """,
            [monday, TOP_REJECTION_REASONS],
        ).fetchall()
    rows = [
        {
            "kpi": commitment,
            "kpi_label": commitment.replace("_", " ").capitalize(),
            "owner": party,
            "basis": "period",
            "unit": "ratio" if commitment.endswith("_share") else "count",
            "dimension": "commitment",
            "dimension_value": f"{party}: {commitment} ({channel})",
            "detail": None if actual is None else ("met" if is_met else "missed"),
            "value": actual,
            "previous_value": None,
            "wow_change": None,
            "wow_change_pct": None,
            "target_value": target,
        }
        for party, commitment, channel, target, actual, is_met in commitments
    ]
    rows += [
        {
            "kpi": "rejection_reason",
            "kpi_label": "Rejection reason",
            "owner": "shared",
            "basis": "period",
            "unit": "count",
            "dimension": "reason",
            "dimension_value": reason,
            "detail": rejected_by,
            "value": float(leads),
            "previous_value": None,
            "wow_change": None,
            "wow_change_pct": None,
            "target_value": None,
        }
        for reason, leads, rejected_by in reasons
    ]
    return rows


def _slowest_follow_ups(warehouse: Path, monday: dt.date) -> list[dict]:
    """The week's MQLs sales took longest to contact (never contacted first), lead ids only."""
    with connect_warehouse(warehouse, read_only=True) as con:
        slowest = con.execute(
            """
            select lead_id, channel, speed_to_lead_hours
            from marts.fct_lead_funnel
            where mql_date between ? and ?
            order by speed_to_lead_hours desc nulls first, lead_id
            limit ?
            """,
            [monday, monday + dt.timedelta(days=6), SLOWEST_FOLLOW_UPS],
        ).fetchall()
    return [
        {
            "kpi": "slowest_follow_up_hours",
            "kpi_label": "Slowest follow-ups (h)",
            "owner": "sales",
            "basis": "period",
            "unit": "hours",
            "dimension": "lead",
            "dimension_value": lead_id,
            "detail": channel,
            "value": hours,
            "previous_value": None,
            "wow_change": None,
            "wow_change_pct": None,
            "target_value": None,
        }
        for lead_id, channel, hours in slowest
    ]


def write_snapshot(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, snapshot_at: dt.datetime, run_id: str) -> int:
    """Replace the snapshot of the frame's week, in one transaction. Returns the rows written."""
    weeks = set(frame["snapshot_week_start"])
    if len(weeks) != 1:
        raise ValueError(f"a snapshot holds exactly one week, got {sorted(weeks)}")
    (monday,) = weeks
    rows = frame.assign(snapshot_at=snapshot_at.replace(tzinfo=None), run_id=run_id)[COLUMNS]
    con.execute(DDL)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {TABLE} where snapshot_week_start = ?", [monday])
        con.register("snapshot_rows", rows)
        con.execute(f"insert into {TABLE} by name select * from snapshot_rows")
        con.unregister("snapshot_rows")
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return len(rows)


def read_snapshot(con: duckdb.DuckDBPyConnection, monday: dt.date) -> pd.DataFrame:
    return con.execute(
        f"select * from {TABLE} where snapshot_week_start = ? order by dimension, dimension_value, kpi", [monday]
    ).df()
