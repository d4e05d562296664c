"""The weekly meeting's assets: the frozen KPI snapshot and the report made from it, one partition per
ISO week (Monday to Sunday, Europe/Madrid), scheduled Monday 07:00 for the week just ended."""


import datetime as dt
import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.resources import WAREHOUSE_POOL, AgreementResource
from orchestration.settings import PROJECT_ROOT
from orchestration.weekly.calendar import WEEKLY_PARTITIONS, iso_week_label, week_start
from orchestration.weekly.delivery import DeliverySettings, deliver
from orchestration.weekly.report import LANGUAGES, format_value, write_report
from orchestration.weekly.snapshot import TABLE, compute_snapshot, read_snapshot, write_snapshot

GROUP = "weekly"
SNAPSHOT_KEY = dg.AssetKey(["snapshots", "kpi_snapshot"])
# The marts the snapshot reads (the semantic layer's models and the agreement's).
SOURCES = [
    dg.AssetKey(["marts", name])
    for name in ("kpi_weekly", "fct_lead_funnel", "fct_sale_events", "fct_ad_spend_daily",
                 "kpi_agreement_weekly", "lead_rejections")
]


def reports_dir() -> Path:
    return Path(os.environ.get("SMARKETING_REPORTS_DIR", PROJECT_ROOT / "reports")).resolve()


class ReportConfig(dg.Config):
    language: str = ""  # en or es; empty: SMARKETING_REPORT_LANGUAGE, else en

    def resolved(self) -> str:
        language = self.language or os.environ.get("SMARKETING_REPORT_LANGUAGE", "en")
        if language not in LANGUAGES:
            raise ValueError(f"report language {language!r}: use one of {', '.join(LANGUAGES)}")
        return language


@dg.asset(
    key=SNAPSHOT_KEY,
    deps=SOURCES,
    partitions_def=WEEKLY_PARTITIONS,
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    description=(
        "The shared KPIs of one ISO week, frozen in snapshots.kpi_snapshot (week x KPI x dimension) with "
        "last week's value, week-over-week change and target vs actual. A rerun replaces that week only."
    ),
)
def kpi_snapshot(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, agreement: AgreementResource
) -> dg.MaterializeResult:
    monday = week_start(context.partition_key)
    warehouse = Path(duckdb.database)
    # mf query opens the warehouse itself (a subprocess): compute first, then take the write connection.
    frame = compute_snapshot(warehouse, monday, agreement.load())
    snapshot_at = dt.datetime.now(dt.UTC)
    with duckdb.get_connection() as con:
        written = write_snapshot(con, frame, snapshot_at, context.run_id)
    total = frame[frame["dimension"] == "all"].set_index("kpi")["value"]
    return dg.MaterializeResult(
        metadata={
            "iso_week": iso_week_label(monday),
            "dagster/row_count": written,
            "table": TABLE,
            "snapshot_at": snapshot_at.isoformat(),
            **{k: float(total[k]) for k in ("leads", "mqls", "customers", "revenue") if k in total and total[k] is not None},
        }
    )


@dg.asset(
    key=dg.AssetKey(["reports", "weekly_kpi_report"]),
    deps=[SNAPSHOT_KEY],
    partitions_def=WEEKLY_PARTITIONS,
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    description="The meeting's report of one week: self-contained HTML (charts inline) and CSV, from the snapshot.",
)
def weekly_kpi_report(
    context: dg.AssetExecutionContext, config: ReportConfig, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    monday = week_start(context.partition_key)
    language = config.resolved()
    with duckdb.get_connection() as con:
        snapshot = read_snapshot(con, monday)
    if snapshot.empty:
        raise ValueError(f"no snapshot for week {iso_week_label(monday)}: materialize snapshots/kpi_snapshot first")
    html_path, csv_path = write_report(snapshot, reports_dir(), language)
    total = snapshot[snapshot["dimension"] == "all"].set_index("kpi")
    headline = ", ".join(
        f"{total.loc[k, 'kpi_label']} {format_value(total.loc[k, 'value'], total.loc[k, 'unit'], language)}"
        for k in ("leads", "mqls", "customers", "revenue") if k in total.index
    )
    week = iso_week_label(monday)
    used = deliver(DeliverySettings.from_env(), f"smarketing {week}", f"smarketing {week}: {headline}\n{html_path}",
                   [html_path, csv_path])
    return dg.MaterializeResult(
        metadata={
            "iso_week": week,
            "language": language,
            "report": dg.MetadataValue.path(str(html_path)),
            "report_url": dg.MetadataValue.url(html_path.as_uri()),
            "csv": dg.MetadataValue.path(str(csv_path)),
            "headline": headline,
            "delivered_to": ", ".join(used) or "not configured",
        }
    )


weekly_assets = [kpi_snapshot, weekly_kpi_report]

weekly_snapshot_job = dg.define_asset_job(
    name="weekly_kpi_snapshot",
    selection=dg.AssetSelection.groups(GROUP),
    partitions_def=WEEKLY_PARTITIONS,
    description="Freeze one ISO week's KPIs and write its report.",
)

# Monday 07:00 Europe/Madrid (after the 06:00 daily refresh), for the week that ended at midnight.
weekly_snapshot_schedule = dg.build_schedule_from_partitioned_job(
    weekly_snapshot_job,
    name="weekly_kpi_snapshot_schedule",
    hour_of_day=7,
    minute_of_hour=0,
    day_of_week=1,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)


