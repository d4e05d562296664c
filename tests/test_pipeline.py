"""End to end: materialize every asset into a temporary warehouse and check the marts' numbers.

The marts are compared with an independent pandas implementation of the rules (tests/independent.py)
on the same generated files, and with the generator's known truth.
"""

from __future__ import annotations

import json
import math

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import pytest

from orchestration.partitions import full_refresh_tags
from tests import independent

SCALE = 0.03


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("pipeline")
    monkeypatch_module.setenv("SMARKETING_WAREHOUSE", str(root / "warehouse.duckdb"))
    monkeypatch_module.setenv("SMARKETING_DEMO_DIR", str(root / "demo_world"))
    monkeypatch_module.setenv("SMARKETING_DEMO_SCALE", str(SCALE))

    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.settings import Settings

    settings = Settings.from_env()
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("daily_refresh").execute_in_process(instance=instance, tags=full_refresh_tags())
    assert result.success
    return {"settings": settings, "defs": defs, "instance": instance, "result": result}


@pytest.fixture(scope="module")
def marts(pipeline):
    with duckdb.connect(str(pipeline["settings"].warehouse_path), read_only=True) as con:
        return {
            name: con.execute(f"select * from marts.{name}").df()
            for name in ("kpi_weekly", "fct_leads", "fct_lead_to_sale", "fct_ad_spend_daily")
        }


@pytest.fixture(scope="module")
def world(pipeline):
    return independent.read_world(pipeline["settings"].demo_world_dir)


def test_every_asset_materialized_with_row_counts(pipeline):
    result = pipeline["result"]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    graph = pipeline["defs"].resolve_asset_graph()
    # The weekly snapshot and report are partitioned and run on their own job (tests/test_weekly_kpis.py).
    weekly = {key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "weekly"}
    assert weekly == {dg.AssetKey(["snapshots", "kpi_snapshot"]), dg.AssetKey(["reports", "weekly_kpi_report"])}
    expected = set(graph.get_all_asset_keys()) - weekly
    assert materialized == expected
    for event in result.get_asset_materialization_events():
        key = event.asset_key.to_user_string()
        metadata = event.materialization.metadata
        if key.startswith("raw_") or key in {"marts/fct_leads", "marts/kpi_weekly", "marts/fct_lead_to_sale"}:
            assert metadata["dagster/row_count"].value > 0, key
            assert "preview" in metadata, key


def test_weekly_funnel_matches_independent_computation(marts, world):
    expected = independent.weekly_funnel(world)
    kpi = marts["kpi_weekly"].copy()
    kpi["week_start"] = pd.to_datetime(kpi["week_start_date"])
    actual = kpi.set_index(["week_start", "channel"])
    counts = ["leads", "mqls", "sqls", "opportunities", "customers"]
    joined = expected[counts].join(actual[counts], rsuffix="_mart", how="outer").fillna(0)
    for column in counts:
        mismatched = joined[joined[column] != joined[f"{column}_mart"]]
        assert mismatched.empty, f"{column} differs:\n{mismatched[[column, column + '_mart']].head()}"
    assert joined["leads"].sum() == len(world["raw_crm.contacts"])

    revenue = expected["revenue"].rename("expected").to_frame().join(
        actual["revenue_reporting"].astype(float), how="outer"
    ).fillna(0)
    np.testing.assert_allclose(revenue["revenue_reporting"], revenue["expected"], atol=0.01)

    rates = expected["lead_to_sale_rate"].to_frame().join(actual["lead_to_sale_rate_period"].astype(float))
    np.testing.assert_allclose(
        rates["lead_to_sale_rate_period"].to_numpy(), rates["lead_to_sale_rate"].to_numpy(), rtol=1e-9
    )


def test_lead_to_sale_fact_matches_independent_sales(marts, world):
    expected = independent.sales(world)
    facts = marts["fct_lead_to_sale"]
    assert len(facts) == len(expected)
    assert facts["lead_id"].notna().sum() == expected["lead_id"].notna().sum()
    assert math.isclose(facts["amount_reporting"].astype(float).sum(), expected["amount_eur"].sum(), abs_tol=0.05)
    by_type = facts.groupby("sale_type").size().to_dict()
    assert by_type == expected.groupby("sale_type").size().to_dict()


def test_marts_recover_the_generators_truth(pipeline, marts):
    """Cohort lead-to-customer rate per channel, for leads old enough to have matured."""
    truth = json.loads((pipeline["settings"].demo_world_dir / "truth.json").read_text())
    leads = marts["fct_leads"]
    end = pd.Timestamp(pipeline["settings"].demo_end_date)
    mature = leads[pd.to_datetime(leads["lead_at"]) < end - pd.Timedelta(days=120)]
    checked = 0
    for channel, probabilities in truth["channels"].items():
        cohort = mature[mature["channel"] == channel]
        if len(cohort) < 100:
            continue
        p = probabilities["p_customer"]
        observed = cohort["is_customer"].mean()
        # 4 binomial standard errors, plus 1 point for the generator's own rounding of delays.
        tolerance = 4 * math.sqrt(p * (1 - p) / len(cohort)) + 0.01
        assert abs(observed - p) <= tolerance, (channel, observed, p, tolerance)
        checked += 1
    assert checked >= 4


def test_spend_converted_to_reporting_currency(marts):
    spend = marts["fct_ad_spend_daily"]
    assert set(spend["account_currency"]) >= {"EUR", "USD", "GBP"}
    eur = spend[spend["account_currency"] == "EUR"]
    np.testing.assert_allclose(eur["spend_reporting"].astype(float), eur["spend_account_currency"].astype(float))
    usd = spend[spend["account_currency"] == "USD"]
    ratio = usd["spend_reporting"].astype(float).sum() / usd["spend_account_currency"].astype(float).sum()
    assert 0.8 < ratio < 1.0  # USD is worth a little less than EUR in the FX seed


def test_rerun_is_idempotent(pipeline):
    """A second run loads nothing new (same batches) and rebuilds identical marts."""
    warehouse = pipeline["settings"].warehouse_path

    def snapshot() -> dict[str, object]:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema like 'raw_%' or table_schema = 'marts' order by 1, 2"
            ).fetchall()
            return {
                f"{s}.{t}": con.execute(f"select md5(string_agg(cast(x as varchar), '|' order by cast(x as varchar))) from {s}.{t} as x").fetchone()[0]
                for s, t in tables
            }

    before = snapshot()
    result = pipeline["defs"].resolve_job_def("daily_refresh").execute_in_process(
        instance=pipeline["instance"], tags=full_refresh_tags()
    )
    assert result.success
    after = snapshot()
    assert before == after
    raw_events = [
        e for e in result.get_asset_materialization_events() if e.asset_key.path[0].startswith("raw_")
    ]
    assert raw_events and all(e.materialization.metadata["skipped_unchanged"].value for e in raw_events)
