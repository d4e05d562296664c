"""`snapshots.kpi_snapshot`: the shared KPIs of one ISO week, frozen.

Values and targets come from the semantic layer (`mf query`), for the week and the week before it, per
channel and for all channels. The table belongs to the snapshot asset alone: dbt never rebuilds it, so later
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
    # Targets (meta.target_of) are not KPI rows of their own: they are the target_value of their KPI.
    kpis = [d for d in definitions if d.target_of is None]
    total_kpis, channel_kpis = [d for d in kpis if d.all_channels], [d for d in kpis if d.by_channel]
    total_targets = [d for d in definitions if d.target_of is not None and d.all_channels]
    channel_targets = [d for d in definitions if d.target_of is not None and d.by_channel]
    start, end = monday - dt.timedelta(days=7), monday + dt.timedelta(days=6)
    by_channel = mf_query(warehouse, [d.name for d in channel_kpis + channel_targets],
                          ["metric_time__week", "channel"], start, end)
    total = mf_query(warehouse, [d.name for d in total_kpis + total_targets], ["metric_time__week"], start, end)
    rows = _kpi_rows(total, total_kpis, monday, "all", None)
    rows += _kpi_rows(by_channel, channel_kpis, monday, "channel", "channel")
    targets = _targets(total, total_targets, monday, None) | _targets(by_channel, channel_targets, monday, "channel")
    _check_targets_match_agreement(targets, agreement)
    for row in rows:
        row["target_value"] = targets.get((row["kpi"], row["dimension_value"]))
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


def _targets(
    frame: pd.DataFrame, definitions: list[MetricDefinition], monday: dt.date, key: str | None
) -> dict[tuple[str, str], float]:
    """Target versus actual, from the semantic layer's target metrics (models/semantic/_metrics.yml,
    meta.target_of): the MQL quota (all channels and per channel) and the reverse funnel from the
    revenue goal (kpi_targets_weekly). Keyed by (the KPI it is the target of, dimension member)."""
    week = frame[frame["metric_time__week"] == monday]
    targets: dict[tuple[str, str], float] = {}
    for _, row in week.iterrows():
        member = row[key] if key else ALL_CHANNELS
        if not isinstance(member, str):
            continue
        for definition in definitions:
            value = _number(row[definition.name])
            if value is not None:
                targets[(str(definition.target_of), member)] = value
    return targets


def _check_targets_match_agreement(targets: dict[tuple[str, str], float], agreement: Agreement) -> None:
    """The marts' targets were built from the agreement dbt var: refuse to freeze another agreement's."""
    quota = agreement.marketing_commitments.weekly_mql_quota
    goal = agreement.marketing_commitments.revenue_goal
    expected = {("qualified_mqls", ALL_CHANNELS): float(quota.total), ("revenue", ALL_CHANNELS): goal.amount / 52}
    expected |= {("qualified_mqls", channel): float(n) for channel, n in quota.by_channel.items()}
    stale = {k: (targets[k], v) for k, v in expected.items() if k in targets and not math.isclose(targets[k], v)}
    if stale:
        raise ValueError(
            "the warehouse's targets (marts.kpi_targets_weekly*) differ from agreement.yml "
            f"({', '.join(f'{kpi} {member}: {got} != {want}' for (kpi, member), (got, want) in stale.items())}): "
            "rebuild the marts (daily refresh) before snapshotting"
        )


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
