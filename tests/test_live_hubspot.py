"""HubSpot connector against a local server that behaves like HubSpot's CRM API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from ingestion.live import run_connector
from ingestion.live.common import CredentialsError, SchemaDriftError
from tests.fake_ad_apis import TOKEN, Fault
from tests.fake_hubspot import FakeHubSpot

NOW = dt.datetime(2026, 11, 10, 12, 0)


def _env(api: FakeHubSpot, now: dt.datetime = NOW, **extra: str) -> dict[str, str]:
    return {"SMARKETING_HUBSPOT_ACCESS_TOKEN": TOKEN, "SMARKETING_HUBSPOT_API_URL": api.url,
            "SMARKETING_LIVE_NOW": now.isoformat(), "SMARKETING_HTTP_MAX_ATTEMPTS": "4",
            "SMARKETING_HTTP_BACKOFF_FACTOR": "0.05", "SMARKETING_HTTP_TIMEOUT_SECONDS": "5", **extra}  # fmt: skip


def _world(api: FakeHubSpot) -> None:
    for i in range(1, 6):
        api.put("contacts", str(i), NOW - dt.timedelta(days=10 - i), email=f"c{i}@example.es", firstname="Íñigo",
                lifecyclestage="lead", hs_analytics_source="PAID_SEARCH",
                hs_lifecyclestage_lead_date=f"2026-10-0{i}T09:15:00Z", associatedcompanyid="900")
    api.put("companies", "900", NOW - dt.timedelta(days=20), name="Muebles Gómez SL", numberofemployees="45")
    api.put("deals", "70", NOW - dt.timedelta(days=2), dealname="Sillas", dealstage="closedwon",
            amount="1250.50", deal_currency_code="EUR", closedate="2026-11-08T10:00:00Z")
    api.deal_links["70"] = {"contacts": ["3"], "companies": ["900"]}
    api.owners = [{"id": str(o), "firstName": "Rep", "lastName": str(o), "email": f"rep{o}@x.es",
                   "teams": [{"id": "1", "name": "Iberia", "primary": True}], "archived": False,
                   "createdAt": "2025-01-01T00:00:00Z"} for o in range(1, 4)]  # fmt: skip


def _rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_pulls_every_object_with_paging_and_associations(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        report = run_connector("raw_crm", db, _env(api))
    assert {t: r.rows_loaded for t, r in report.items()} == {"contacts": 5, "companies": 1, "deals": 1, "owners": 3}
    assert report["contacts"].pages == 3 and report["owners"].pages == 2
    assert _rows(db, "select contact_id, first_name, became_lead_at, company_id from raw_crm.contacts where contact_id = '2'") == [
        ("2", "Íñigo", dt.datetime(2026, 10, 2, 9, 15), "900")]
    assert _rows(db, "select contact_id, company_id, amount, closed_at from raw_crm.deals") == [
        ("3", "900", Decimal("1250.50"), dt.datetime(2026, 11, 8, 10, 0))]
    assert _rows(db, "select count(*), min(team) from raw_crm.owners") == [(3, "Iberia")]
    assert report["contacts"].cursor_after == (NOW - dt.timedelta(days=5)).isoformat()


def test_incremental_asks_since_cursor_minus_lookback_and_merges_updates(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        run_connector("raw_crm", db, _env(api))
        api.searches.clear()
        later = NOW + dt.timedelta(days=1)
        api.put("contacts", "2", later - dt.timedelta(hours=1), email="c2@example.es", lifecyclestage="customer")
        api.put("contacts", "6", later - dt.timedelta(hours=2), email="c6@example.es", lifecyclestage="lead")
        report = run_connector("raw_crm", db, _env(api, later))
    cursor = NOW - dt.timedelta(days=5) - dt.timedelta(hours=2)  # last seen minus the 2-hour look-back
    expected_ms = int(cursor.replace(tzinfo=dt.UTC).timestamp() * 1000)
    assert ("contacts", expected_ms) in api.searches
    assert report["contacts"].records_fetched == 3  # contact 5 (inside the look-back), 2 and 6
    assert _rows(db, "select count(*), count(*) filter (lifecycle_stage = 'customer') from raw_crm.contacts") == [(6, 1)]


def test_retries_429_and_500_then_loads(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        api.faults = [Fault("contacts/search", 429, {"Retry-After": "1"}), Fault("owners", 502)]
        report = run_connector("raw_crm", db, _env(api))
    assert report["contacts"].rows_loaded == 5 and report["owners"].rows_loaded == 3


def test_bad_token_names_the_variable(tmp_path):
    with FakeHubSpot() as api:
        with pytest.raises(CredentialsError, match="SMARKETING_HUBSPOT_ACCESS_TOKEN"):
            run_connector("raw_crm", tmp_path / "w.duckdb", _env(api, SMARKETING_HUBSPOT_ACCESS_TOKEN="nope"))
        assert len(api.requests) == 1


def test_drift_new_field_kept_missing_required_stops(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        api.extra_property = "propertiesWithNewShape"
        report = run_connector("raw_crm", db, _env(api))
        assert "propertiesWithNewShape.new" in report["contacts"].new_fields
        api.extra_property = None
        api.drop_property = "dealstage"
        api.put("deals", "71", NOW + dt.timedelta(hours=1), dealname="Mesa", dealstage="closedlost")
        with pytest.raises(SchemaDriftError, match="hubspot: required field 'deal_stage' missing in raw_crm.deals"):
            run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(hours=2)))
    assert _rows(db, "select count(*) from raw_crm.deals") == [(1,)]
