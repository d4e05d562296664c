"""The funnel of the latest complete week, as `make demo` prints it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from pydantic import BaseModel

from ingestion.warehouse import connect as connect_warehouse
from orchestration.settings import Settings


class FunnelSummary(BaseModel):
    week_start: dt.date
    leads: int
    mqls: int
    sqls: int
    opportunities: int
    customers: int
    revenue: float
    walk_in_revenue: float
    lead_to_sale_rate: float | None
    currency: str


def latest_complete_week(con: duckdb.DuckDBPyConnection, today: dt.date) -> dt.date | None:
    """The last ISO week that has ended both in the calendar and in the data."""
    row = con.execute(
        """
        select max(week_start_date)
        from marts.kpi_weekly
        where week_start_date + interval 7 day <= ?
          and week_start_date + interval 6 day <= (select max(cast(lead_at as date)) from marts.fct_leads)
        """,
        [today],
    ).fetchone()
    return row[0]


def funnel_summary(warehouse: Path, today: dt.date, currency: str = "EUR") -> FunnelSummary | None:
    with connect_warehouse(warehouse, read_only=True) as con:
        week = latest_complete_week(con, today)
        if week is None:
            return None
        leads, mqls, sqls, opps, customers, revenue, walk_in = con.execute(
            """
            select sum(leads), sum(mqls), sum(sqls), sum(opportunities), sum(customers),
                   coalesce(sum(revenue_reporting), 0), coalesce(sum(walk_in_revenue_reporting), 0)
            from marts.kpi_weekly
            where week_start_date = ?
            """,
            [week],
        ).fetchone()
    return FunnelSummary(
        week_start=week,
        leads=leads,
        mqls=mqls,
        sqls=sqls,
        opportunities=opps,
        customers=customers,
        revenue=float(revenue),
        walk_in_revenue=float(walk_in),
        lead_to_sale_rate=customers / leads if leads else None,
        currency=currency,
    )


def format_summary(s: FunnelSummary) -> str:
    week_end = s.week_start + dt.timedelta(days=6)
    iso_year, iso_week, _ = s.week_start.isocalendar()
    rate = f"{s.lead_to_sale_rate:.1%}" if s.lead_to_sale_rate is not None else "n/a"
    return "\n".join(
        [
            f"Funnel, week {iso_year}-W{iso_week:02d} ({s.week_start} to {week_end}), all channels:",
            f"  leads          {s.leads:>10,}",
            f"  MQLs           {s.mqls:>10,}",
            f"  SQLs           {s.sqls:>10,}",
            f"  opportunities  {s.opportunities:>10,}",
            f"  customers      {s.customers:>10,}",
            (
                f"  revenue        {s.revenue:>10,.0f} {s.currency} from leads"
                f" (+ {s.walk_in_revenue:,.0f} {s.currency} from store walk-ins with no lead)"
            ),
            f"  lead-to-sale   {rate:>10}  ({s.customers} customers / {s.leads} leads this week, period rate)",
        ]
    )


def today_in(settings: Settings) -> dt.date:
    return dt.datetime.now(ZoneInfo(settings.reporting_timezone)).date()
