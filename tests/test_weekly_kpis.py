"""The weekly meeting end to end, on a small demo world in a temporary warehouse:

- kpi_weekly equals what `mf query` returns for every shared metric, by ISO week and channel, and
  kpi_weekly_region for every lead metric by ISO week, channel and region;
- the targets (MQL quota, reverse funnel) are semantic-layer metrics equal to kpi_targets_weekly and to
  the reverse-funnel arithmetic on kpi_weekly, and the snapshot's target_value comes from them;
- the snapshot holds the semantic layer's values, week-over-week change and targets, and is frozen:
  a later correction of the sources does not rewrite it, a rerun replaces that week only;
- the report (HTML and CSV) renders in Debian's headless chromium, its charts draw, and every number on
  the page equals the snapshot row it shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import html.parser
import json
import math
import shutil
import subprocess

import dagster as dg
import duckdb
import pandas as pd
import pytest

from orchestration.partitions import full_refresh_tags
from orchestration.settings import DBT_PROJECT_DIR
from orchestration.weekly.metricflow import metric_definitions, mf_query
from orchestration.weekly.report import format_value, write_report

SCALE = 0.02
WEEK = "2026-11-16"  # the demo world's last complete week (it ends on Sunday 2026-11-22)
PREVIOUS = "2026-11-09"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Metric -> kpi_weekly column, where the names differ (amounts carry their currency basis).
COLUMNS = {"revenue": "revenue_reporting", "walk_in_revenue": "walk_in_revenue_reporting", "ad_spend": "spend_reporting"}
REGION = "lead_country__region"  # the region dimension (semantic model countries, reached from lead_funnel)


@pytest.fixture(scope="module")
def world(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("weekly")
    monkeypatch_module.setenv("SMARKETING_WAREHOUSE", str(root / "warehouse.duckdb"))
    monkeypatch_module.setenv("SMARKETING_DEMO_DIR", str(root / "demo_world"))
    monkeypatch_module.setenv("SMARKETING_DEMO_SCALE", str(SCALE))
    monkeypatch_module.setenv("SMARKETING_SERVING", str(root / "serving" / "smarketing.duckdb"))
    monkeypatch_module.setenv("SMARKETING_REPORTS_DIR", str(root / "reports"))
    monkeypatch_module.setenv("SMARKETING_REPORT_LANGUAGE", "en")
    for name in ("SMARKETING_REPORT_WEBHOOK_URL", "SMARKETING_SMTP_HOST"):
        monkeypatch_module.delenv(name, raising=False)
    from orchestration.definitions import build_definitions
    from orchestration.settings import Settings

    settings = Settings.from_env()
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=instance, run_config=QUIET, tags=full_refresh_tags()
    )
    assert result.success
    world = {"root": root, "warehouse": settings.warehouse_path, "defs": defs, "instance": instance}
    _run_week(world, WEEK)  # every test below may read week 47's snapshot, whatever order they run in
    return world


def _run_week(world, partition: str) -> dg.ExecuteInProcessResult:
    job = world["defs"].resolve_job_def("weekly_kpi_snapshot")
    result = job.execute_in_process(instance=world["instance"], partition_key=partition, run_config=QUIET)
    assert result.success
    return result


def _snapshot(world) -> pd.DataFrame:
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        return con.execute("select * from snapshots.kpi_snapshot order by all").df()


def _same(a, b, cents: bool = False) -> bool:
    a_null = a is None or (isinstance(a, float) and math.isnan(a)) or pd.isna(a)
    b_null = b is None or (isinstance(b, float) and math.isnan(b)) or pd.isna(b)
    if a_null or b_null:
        return a_null and b_null
    if cents:  # kpi_weekly stores amounts rounded to the cent (decimal(18,2))
        return abs(round(float(a), 2) - float(b)) < 1e-9
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def test_every_metric_documents_owner_basis_and_formula():
    definitions = metric_definitions()
    assert len(definitions) >= 40
    assert {d.owner for d in definitions} == {"marketing", "sales", "shared"}
    assert {d.basis for d in definitions} == {"period", "cohort"}
    glossary = {
        "leads", "mqls", "sqls", "opportunities", "customers", "revenue", "lead_to_sale_rate_period",
        "lead_to_sale_rate_cohort", "mql_to_sql_rate_period", "mql_to_sql_rate_cohort", "cost_per_lead",
        "cost_per_mql", "customer_acquisition_cost", "roas", "average_deal_size", "sales_cycle_days",
        "speed_to_lead_median_hours", "speed_to_lead_p95_hours", "sla_compliance", "follow_up_attempts_per_mql",
        "follow_up_sla_compliance", "qualified_mqls", "mql_acceptance_rate", "mql_rejection_rate",
        "online_to_offline_share",
    }
    assert glossary <= {d.name for d in definitions}
    assert all(d.description and d.formula for d in definitions)


def test_kpi_weekly_equals_mf_query(world):
    # Every metric that has a channel (the all-channel targets have none: kpi_targets_weekly).
    definitions = [d for d in metric_definitions() if d.by_channel]
    names = [d.name for d in definitions]
    assert {"channel_mql_quota", "channel_mql_quota_attainment"} <= set(names)
    mf = mf_query(world["warehouse"], names, ["metric_time__week", "channel"])
    # Rows without a week are the measures' own nulls (e.g. leads that never became MQL): all zero.
    undated = mf[mf["metric_time__week"].isna()]
    additive = [d.name for d in definitions if d.additive]
    assert (undated[additive].fillna(0) == 0).all().all()
    mf = mf[mf["metric_time__week"].notna()].set_index(["metric_time__week", "channel"])
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        mart = con.execute("select * from marts.kpi_weekly").df()
    mart["week"] = pd.to_datetime(mart["week_start_date"]).dt.date
    mart["sales_decided"] = mart["sales_accepted"] + mart["sales_rejected"]
    mart = mart.set_index(["week", "channel"])
    keys = mf.index.union(mart.index)
    assert len(keys) > 300
    compared = 0
    for name in names:
        column = COLUMNS.get(name, name)
        assert column in mart.columns, f"metric {name} has no kpi_weekly column"
        is_additive = name in additive
        for key in keys:
            expected = mf.loc[key, name] if key in mf.index else (0.0 if is_additive else None)
            actual = mart.loc[key, column] if key in mart.index else (0.0 if is_additive else None)
            assert _same(expected, actual, cents=name in COLUMNS), f"{name} {key}: mf query {expected!r}, kpi_weekly {actual!r}"
            compared += 0 if pd.isna(expected) else 1
    assert compared > 5000


def _lead_metrics() -> list[str]:
    """Metrics whose measures are all in the semantic model lead_funnel (the ones with a region)."""
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "semantic_manifest.json").read_text())
    model_of = {m["name"]: model["name"] for model in manifest["semantic_models"] for m in model["measures"]}
    return [
        metric["name"] for metric in manifest["metrics"]
        if all(model_of[m["name"]] == "lead_funnel" for m in metric["type_params"]["input_measures"])
    ]


def test_kpi_weekly_region_equals_mf_query(world):
    names = _lead_metrics()
    assert {"leads", "mqls", "customers", "lead_to_sale_rate_cohort", "speed_to_lead_p95_hours"} <= set(names)
    additive = {d.name for d in metric_definitions() if d.additive}
    names = [n for n in names if n != "sales_decided"]  # sales_accepted + sales_rejected in the mart
    keys = ["metric_time__week", "channel", REGION]
    mf = mf_query(world["warehouse"], names, keys)
    undated = mf[mf["metric_time__week"].isna()]
    assert (undated[[n for n in names if n in additive]].fillna(0) == 0).all().all()
    mf = mf[mf["metric_time__week"].notna()]
    assert mf[REGION].notna().all() and {"EMEA-SOUTH", "EMEA-NORTH", "NA"} <= set(mf[REGION])
    mf = mf.set_index(keys)
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        mart = con.execute("select * from marts.kpi_weekly_region").df()
        by_channel = con.execute("select * from marts.kpi_weekly").df()
    mart["week"] = pd.to_datetime(mart["week_start_date"]).dt.date
    # Regions split the week x channel rows: their counts add up to kpi_weekly's.
    summed = mart.groupby(["week_start_date", "channel"])[["leads", "mqls", "customers", "qualified_mqls"]].sum()
    joined = by_channel.set_index(["week_start_date", "channel"])[summed.columns].join(summed, rsuffix="_region")
    for column in summed.columns:
        assert (joined[column].fillna(0) == joined[f"{column}_region"].fillna(0)).all(), column
    mart = mart.set_index(["week", "channel", "region"])
    assert set(names) <= set(mart.columns)
    index = mf.index.union(mart.index)
    assert len(index) > 500
    compared = 0
    for name in names:
        for key in index:
            expected = mf.loc[key, name] if key in mf.index else (0.0 if name in additive else None)
            actual = mart.loc[key, name] if key in mart.index else (0.0 if name in additive else None)
            assert _same(expected, actual), f"{name} {key}: mf query {expected!r}, kpi_weekly_region {actual!r}"
            compared += 0 if pd.isna(expected) else 1
    assert compared > 5000


def test_targets_are_metrics_equal_to_the_mart_and_the_reverse_funnel(world):
    targets = [d for d in metric_definitions() if d.target_of]
    assert {d.target_of for d in targets} == {"qualified_mqls", "revenue", "customers", "opportunities", "sqls", "mqls", "leads"}
    names = [d.name for d in metric_definitions() if not d.by_channel]
    assert {"mql_quota", "mql_quota_attainment", "revenue_target", "leads_target"} <= set(names)
    mf = mf_query(world["warehouse"], names, ["metric_time__week"]).dropna(subset=["metric_time__week"])
    mf = mf.set_index("metric_time__week")
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        mart = con.execute("select * from marts.kpi_targets_weekly").df()
        weekly = con.execute(
            "select week_start_date, sum(leads), sum(mqls), sum(sqls), sum(opportunities), sum(customers), "
            "sum(qualified_mqls), sum(revenue_reporting) from marts.kpi_weekly group by 1").fetchall()
    mart["week"] = pd.to_datetime(mart["week_start_date"]).dt.date
    mart = mart.set_index("week")
    assert len(mart) >= 50
    for week, row in mart.iterrows():
        for name in ("mql_quota", "revenue_target", "customers_target", "opportunities_target", "sqls_target",
                     "mqls_target", "leads_target"):
            assert _same(mf.loc[week, name], row[name]), (name, week)
    # The reverse funnel as the snapshot computed it in Python before it became a metric: revenue goal /
    # 52 / deal size, then up the funnel at the all-channel period conversion of the 12 weeks before.
    sums = {w: counts for w, *counts in weekly}
    stages = ["leads", "mqls", "sqls", "opportunities", "customers"]
    checked = 0
    for monday in mart.index:
        window = [sums[w] for w in sums if monday - dt.timedelta(days=84) <= w < monday]
        totals = [sum(c[i] for c in window) if window else None for i in range(5)]
        needed = 2_500_000 / 52 / 12_000
        expected = {"customers": needed}
        for upper, lower, n_upper, n_lower in reversed(list(zip(stages, stages[1:], totals, totals[1:]))):
            if not n_upper or not n_lower:
                break
            needed = needed / (n_lower / n_upper)
            expected[upper] = needed
        for stage in stages:
            assert _same(mf.loc[monday, f"{stage}_target"], expected.get(stage)), (stage, monday)
        checked += len(expected) == 5
        if monday in sums:
            qualified, revenue = sums[monday][5], sums[monday][6]
            assert _same(mf.loc[monday, "mql_quota_attainment"], qualified / 40)
            # kpi_weekly keeps revenue to the cent
            expected_attainment = float(revenue) / (2_500_000 / 52)
            assert mf.loc[monday, "revenue_target_attainment"] == pytest.approx(expected_attainment, rel=1e-6, abs=1e-9)
    assert checked >= 40


def test_snapshot_holds_the_semantic_layer_values_with_change_and_targets(world):
    result = _run_week(world, WEEK)
    snapshot = _snapshot(world)
    assert set(snapshot["snapshot_week_start"].astype(str)) == {WEEK}
    assert set(snapshot["iso_week"]) == {"2026-W47"}
    totals = snapshot[snapshot["dimension"] == "all"].set_index("kpi")
    mf = mf_query(world["warehouse"], list(totals.index), ["metric_time__week"],
                  dt.date(2026, 11, 9), dt.date(2026, 11, 22)).set_index("metric_time__week")
    this, last = dt.date(2026, 11, 16), dt.date(2026, 11, 9)
    for kpi, row in totals.iterrows():
        assert _same(row["value"], mf.loc[this, kpi]), kpi
        assert _same(row["previous_value"], mf.loc[last, kpi]), kpi
        if not pd.isna(row["value"]) and not pd.isna(row["previous_value"]):
            assert _same(row["wow_change"], row["value"] - row["previous_value"]), kpi
    # Channel rows add up to the all-channel row for every count.
    channels = snapshot[snapshot["dimension"] == "channel"]
    for kpi in ("leads", "mqls", "customers", "revenue", "ad_spend", "qualified_mqls"):
        assert _same(channels[channels["kpi"] == kpi]["value"].sum(), totals.loc[kpi, "value"]), kpi
    # Targets come from agreement.yml: the weekly MQL quota and the reverse funnel from the revenue goal.
    assert totals.loc["qualified_mqls", "target_value"] == 40
    paid_search = channels[(channels["kpi"] == "qualified_mqls") & (channels["dimension_value"] == "Paid Search")]
    assert paid_search["target_value"].item() == 15
    assert totals.loc["revenue", "target_value"] == pytest.approx(2_500_000 / 52)
    assert totals.loc["customers", "target_value"] == pytest.approx(2_500_000 / 52 / 12_000)
    assert totals.loc["leads", "target_value"] > totals.loc["mqls", "target_value"] > totals.loc["customers", "target_value"]
    assert _same(totals.loc["leads", "target_gap"], totals.loc["leads", "value"] - totals.loc["leads", "target_value"])
    # ... read from the semantic layer's target metrics (meta.target_of), which are not KPI rows themselves.
    targets = mf_query(world["warehouse"], [f"{s}_target" for s in ("revenue", "customers", "opportunities", "sqls",
                                                                         "mqls", "leads")] + ["mql_quota"],
                       ["metric_time__week"], this, this + dt.timedelta(days=6)).set_index("metric_time__week")
    for kpi in ("revenue", "customers", "opportunities", "sqls", "mqls", "leads"):
        assert _same(totals.loc[kpi, "target_value"], targets.loc[this, f"{kpi}_target"]), kpi
    assert not {d.name for d in metric_definitions() if d.target_of} & set(snapshot["kpi"])
    assert _same(totals.loc["mql_quota_attainment", "value"], totals.loc["qualified_mqls", "value"] / 40)
    assert {"channel_mql_quota_attainment"} <= set(channels["kpi"]) and "channel_mql_quota_attainment" not in totals.index
    # Commitments of both sides, met or missed, straight from kpi_agreement_weekly.
    commitments = snapshot[snapshot["dimension"] == "commitment"]
    assert set(commitments["owner"]) == {"marketing", "sales"}
    assert set(commitments["detail"].dropna()) <= {"met", "missed"}
    quota = commitments[commitments["dimension_value"] == "marketing: weekly_mql_quota (All channels)"]
    assert quota["value"].item() == totals.loc["qualified_mqls", "value"]
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        reasons = con.execute(
            "select reason, count(distinct lead_id) from marts.lead_rejections "
            "where rejection_week_start_date = ? group by 1 order by 2 desc, 1 limit 5", [this]).fetchall()
    top = snapshot[snapshot["kpi"] == "rejection_reason"].sort_values(["value", "dimension_value"], ascending=[False, True])
    assert [(r, float(n)) for r, n in reasons] == list(zip(top["dimension_value"], top["value"]))
    metadata = next(e for e in result.get_asset_materialization_events()
                    if e.asset_key.path[-1] == "weekly_kpi_report").materialization.metadata
    assert metadata["report"].value.endswith("2026-W47/report.en.html")


def test_snapshot_is_frozen_and_a_rerun_replaces_that_week_only(world):
    _run_week(world, PREVIOUS)
    before = _snapshot(world)
    frozen_w46 = before[before["iso_week"] == "2026-W46"].reset_index(drop=True)
    frozen_w47 = before[before["iso_week"] == "2026-W47"].reset_index(drop=True)
    assert len(frozen_w46) > 100
    # A correction in the sources: a third of week 46's leads turn out to be test records and vanish.
    with duckdb.connect(str(world["warehouse"])) as con:
        removed = con.execute(
            "delete from marts.fct_lead_funnel where lead_date between '2026-11-09' and '2026-11-15' "
            "and hash(lead_id) % 3 = 0 returning lead_id").fetchall()
    assert removed
    # Re-snapshot week 47: week 46 stays exactly as it was frozen (same values, same snapshot time).
    _run_week(world, WEEK)
    after = _snapshot(world)
    pd.testing.assert_frame_equal(after[after["iso_week"] == "2026-W46"].reset_index(drop=True), frozen_w46)
    new_w47 = after[after["iso_week"] == "2026-W47"].set_index(["kpi", "dimension", "dimension_value"])
    assert (new_w47["snapshot_at"] > frozen_w47["snapshot_at"].max()).all()
    frozen_leads_w46 = frozen_w46[(frozen_w46["kpi"] == "leads") & (frozen_w46["dimension"] == "all")]["value"].item()
    assert new_w47.loc[("leads", "all", "All channels"), "previous_value"] == frozen_leads_w46 - len(removed)
    # Re-run week 46: it now shows the correction, and week 47 is untouched by that rerun.
    _run_week(world, PREVIOUS)
    final = _snapshot(world)
    rerun_w46 = final[(final["iso_week"] == "2026-W46") & (final["kpi"] == "leads") & (final["dimension"] == "all")]
    assert rerun_w46["value"].item() == frozen_leads_w46 - len(removed)
    pd.testing.assert_frame_equal(
        final[final["iso_week"] == "2026-W47"].reset_index(drop=True),
        after[after["iso_week"] == "2026-W47"].reset_index(drop=True),
    )
    # Nothing duplicated: one row per week x KPI x dimension member.
    assert not final.duplicated(["snapshot_week_start", "kpi", "dimension", "dimension_value"]).any()


class _Cells(html.parser.HTMLParser):
    """Every table cell carrying a snapshot value, and every chart."""

    def __init__(self):
        super().__init__()
        self.cells, self.charts, self._open, self.bars = [], [], None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-kpi" in attrs:
            self._open = {**attrs, "text": ""}
        if tag == "svg" and "bars" in (attrs.get("class") or ""):
            self.charts.append(attrs)
        if tag == "rect" and "bar" in (attrs.get("class") or ""):
            self.bars.append(attrs)

    def handle_data(self, data):
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag):
        if tag == "td" and self._open is not None:
            self.cells.append(self._open)
            self._open = None


@pytest.mark.parametrize("language", ["en", "es"])
def test_report_renders_in_chromium_with_the_snapshot_numbers(world, language, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is required (.ci/run installs it)"
    with duckdb.connect(str(world["warehouse"]), read_only=True) as con:
        snapshot = con.execute("select * from snapshots.kpi_snapshot where iso_week = '2026-W47'").df()
    html_path, csv_path = write_report(snapshot, tmp_path, language)
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--virtual-time-budget=5000", "--dump-dom", html_path.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    assert 'data-charts-ready="true"' in dom  # the inline script ran to the end
    page = _Cells()
    page.feed(dom)
    assert len(page.charts) >= 5 and all(c.get("data-rendered") == "true" for c in page.charts)
    assert all(int(c["data-bars"]) > 0 for c in page.charts)
    assert page.bars and all(float(b["width"]) > 0 for b in page.bars)
    rows = snapshot.set_index(["kpi", "dimension", "dimension_value"])
    assert len(page.cells) > 50
    for cell in page.cells:
        row = rows.loc[(cell["data-kpi"], cell["data-dimension"], cell["data-member"])]
        value = row[cell["data-column"]]
        shown = None if cell["data-value"] == "" else float(cell["data-value"])
        assert _same(shown, value), cell
        if shown is not None:
            assert cell["text"] == format_value(value, row["unit"], language), cell
    # Every KPI of the funnel is on the page, this week and last week.
    for kpi in ("leads", "mqls", "sqls", "opportunities", "customers", "revenue"):
        shown = {c["data-column"] for c in page.cells if c["data-kpi"] == kpi and c["data-dimension"] == "all"}
        assert {"value", "previous_value"} <= shown, kpi
    assert ("Embudo" in dom) == (language == "es")
    # The CSV carries the same figures as the snapshot.
    with open(csv_path, newline="") as f:
        csv_rows = {(r["kpi"], r["dimension"], r["dimension_value"]): r for r in csv.DictReader(f)}
    assert len(csv_rows) == len(snapshot)
    for key, row in rows.iterrows():
        text = csv_rows[key]["value"]
        assert _same(None if text == "" else float(text), row["value"]), key
    # A screenshot draws a real page (not a blank one).
    shot = tmp_path / "report.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--hide-scrollbars", "--window-size=1200,1600", f"--screenshot={shot}", html_path.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 20_000
