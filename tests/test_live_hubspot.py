"""HubSpot connector against a local server that behaves like HubSpot's CRM API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from ingestion.live import run_connector
from ingestion.live.common import CredentialsError, LiveSourceError, SchemaDriftError
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
    api.deal_links["70"] = {"contacts": ["3"], "companies": ["900"]}
    # the deal moved through two stages before it was won
    api.put("deals", "70", NOW - dt.timedelta(days=6), dealname="Sillas", dealstage="appointmentscheduled")
    api.put("deals", "70", NOW - dt.timedelta(days=4), dealname="Sillas", dealstage="contractsent")
    api.put("deals", "70", NOW - dt.timedelta(days=2), dealname="Sillas", dealstage="closedwon",
            amount="1250.50", deal_currency_code="EUR", closedate="2026-11-08T10:00:00Z")
    # engagements: 3 calls (default and custom dispositions), 2 e-mails (one reply), 1 meeting
    for n, disposition in enumerate(["f240bbac-87c9-4f6e-bf70-924b57d47db7", "73a0d17f-1163-4015-bdd5-ec830791da20",
                                     "custom-disposition-1"], start=1):
        api.put("calls", f"c{n}", NOW - dt.timedelta(days=8 - n), hs_timestamp=f"2026-11-0{n}T10:00:00Z",
                hubspot_owner_id="2", hs_call_direction="OUTBOUND", hs_call_disposition=disposition)
        api.deal_links[f"c{n}"] = {"contacts": [str(n)]}
    api.put("emails", "e1", NOW - dt.timedelta(days=3), hs_timestamp="2026-11-06T09:00:00Z", hubspot_owner_id="2",
            hs_email_direction="EMAIL", hs_email_status="SENT")
    api.put("emails", "e2", NOW - dt.timedelta(days=2), hs_timestamp="2026-11-07T09:00:00Z", hubspot_owner_id="2",
            hs_email_direction="INCOMING_EMAIL")
    api.deal_links["e2"] = {"contacts": ["3"]}
    api.put("meetings", "m1", NOW - dt.timedelta(days=1), hs_timestamp="2026-11-09T16:00:00Z", hubspot_owner_id="3",
            hs_meeting_outcome="COMPLETED")
    api.deal_links["m1"] = {"contacts": ["3"]}
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
    assert {t: r.rows_loaded for t, r in report.items()} == {
        "contacts": 5, "companies": 1, "deals": 1, "engagements": 6, "deal_stage_history": 3, "owners": 3}
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


def test_timed_out_search_is_retried_and_a_silent_api_fails_clearly(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        # a late answer the client must not wait for (it would fail the load as malformed)
        api.faults = [Fault("contacts/search", 200, body="{", delay=1.5)]
        report = run_connector("raw_crm", db, _env(api, SMARKETING_HTTP_TIMEOUT_SECONDS="0.3"))
        assert report["contacts"].rows_loaded == 5
        assert [p for p in api.requests if "contacts/search" in p][:2] == ["/crm/v3/objects/contacts/search"] * 2
        api.faults = [Fault("owners", 200, delay=1.5) for _ in range(4)]
        with pytest.raises(LiveSourceError, match=r"hubspot: 127.0.0.1:\d+ did not answer /crm/v3/owners within "
                                                  r"SMARKETING_HTTP_TIMEOUT_SECONDS"):  # fmt: skip
            run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(hours=1), SMARKETING_HTTP_TIMEOUT_SECONDS="0.3"))


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


def test_engagements_from_calls_emails_meetings_with_contacts_and_outcomes(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        report = run_connector("raw_crm", db, _env(api))
    assert report["engagements"].pages == 2 + 1 + 1  # 3 calls paged by 2, 2 e-mails, 1 meeting
    assert _rows(db, "select engagement_id, engagement_type, contact_id, owner_id, occurred_at, direction, outcome "
                     "from raw_crm.engagements order by occurred_at") == [
        ("c1", "CALL", "1", "2", dt.datetime(2026, 11, 1, 10), "OUTBOUND", "CONNECTED"),
        ("c2", "CALL", "2", "2", dt.datetime(2026, 11, 2, 10), "OUTBOUND", "NO_ANSWER"),
        ("c3", "CALL", "3", "2", dt.datetime(2026, 11, 3, 10), "OUTBOUND", "custom-disposition-1"),
        ("e1", "EMAIL", None, "2", dt.datetime(2026, 11, 6, 9), "OUTBOUND", "SENT"),
        ("e2", "EMAIL", "3", "2", dt.datetime(2026, 11, 7, 9), "INBOUND", "REPLIED"),
        ("m1", "MEETING", "3", "3", dt.datetime(2026, 11, 9, 16), None, "COMPLETED"),
    ]
    # the cursor is the earliest of the three types' latest change: calls (c3, 5 days ago) lag behind
    assert report["engagements"].cursor_after == (NOW - dt.timedelta(days=5)).isoformat()


def test_engagement_cursor_with_lookback_and_rerun_idempotent(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        run_connector("raw_crm", db, _env(api))
        api.searches.clear()
        later = NOW + dt.timedelta(days=1)
        api.put("calls", "c4", later - dt.timedelta(hours=1), hs_timestamp="2026-11-10T11:00:00Z",
                hubspot_owner_id="2", hs_call_direction="INBOUND",
                hs_call_disposition="b2cf5968-551e-4856-9783-52b3da59a7d0")
        report = run_connector("raw_crm", db, _env(api, later))
    since = NOW - dt.timedelta(days=5) - dt.timedelta(hours=2)
    expected_ms = int(since.replace(tzinfo=dt.UTC).timestamp() * 1000)
    assert {(obj, ms) for obj, ms in api.searches if obj in ("calls", "emails", "meetings")} == {
        ("calls", expected_ms), ("emails", expected_ms), ("meetings", expected_ms)}
    # asked again: c3 (inside the look-back), the new c4, both e-mails and the meeting
    assert report["engagements"].records_fetched == 5
    assert _rows(db, "select count(*), count(distinct engagement_id) from raw_crm.engagements") == [(7, 7)]
    assert _rows(db, "select direction, outcome from raw_crm.engagements where engagement_id = 'c4'") == [
        ("INBOUND", "LEFT_VOICEMAIL")]


def test_deal_stage_history_one_row_per_change_and_idempotent(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        run_connector("raw_crm", db, _env(api))
        run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(hours=1)))  # same deal again: no duplicates
        api.put("deals", "71", NOW + dt.timedelta(hours=2), dealname="Mesa", dealstage="qualifiedtobuy")
        api.put("deals", "71", NOW + dt.timedelta(hours=3), dealname="Mesa", dealstage="closedlost")
        run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(hours=4)))
    assert _rows(db, "select deal_id, deal_stage, entered_at, changed_by_id from raw_crm.deal_stage_history "
                     "order by deal_id, entered_at") == [
        ("70", "appointmentscheduled", NOW - dt.timedelta(days=6), "7"),
        ("70", "contractsent", NOW - dt.timedelta(days=4), "7"),
        ("70", "closedwon", NOW - dt.timedelta(days=2), "7"),
        ("71", "qualifiedtobuy", NOW + dt.timedelta(hours=2), "7"),
        ("71", "closedlost", NOW + dt.timedelta(hours=3), "7"),
    ]
    # the latest change is the deal's current stage
    assert _rows(db, "select d.deal_id, d.deal_stage = h.deal_stage from raw_crm.deals d join "
                     "(select deal_id, arg_max(deal_stage, entered_at) as deal_stage from raw_crm.deal_stage_history "
                     "group by all) h using (deal_id) order by 1") == [("70", True), ("71", True)]


def test_stage_history_batches_of_50_and_missing_value_stops(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot(page_size=100) as api:
        for n in range(120):
            api.put("deals", str(1000 + n), NOW - dt.timedelta(hours=n + 1), dealname=f"D{n}", dealstage="qualifiedtobuy")
        report = run_connector("raw_crm", db, _env(api))
        assert report["deal_stage_history"].rows_loaded == 120 and report["deal_stage_history"].pages == 3
        api.drop_property = "value"
        api.put("deals", "2000", NOW + dt.timedelta(hours=1), dealname="X", dealstage="closedwon")
        with pytest.raises(SchemaDriftError, match="required field 'deal_stage' missing in raw_crm.deal_stage_history"):
            run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(hours=2)))
    assert _rows(db, "select count(*) from raw_crm.deal_stage_history") == [(120,)]


def test_engagement_errors_429_500_malformed_and_empty(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        _world(api)
        api.faults = [Fault("calls/search", 429, {"Retry-After": "1"}), Fault("meetings/search", 500),
                      Fault("deals/batch/read", 503)]
        report = run_connector("raw_crm", db, _env(api))
        assert report["engagements"].rows_loaded == 6 and report["deal_stage_history"].rows_loaded == 3
        # a rerun asks again from the lagging type's cursor: the same rows, replaced, not duplicated
        again = run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(days=30), SMARKETING_HUBSPOT_LOOKBACK_HOURS="0"))
        assert again["engagements"].records_fetched == 4  # c3, e1, e2, m1 were changed at or after the cursor
        assert again["engagements"].cursor_after == report["engagements"].cursor_after
        api.faults = [Fault("emails/search", 200, body="<html>gateway</html>")]
        with pytest.raises(LiveSourceError, match="hubspot: malformed response body"):
            run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(days=31)))
    assert _rows(db, "select count(*) from raw_crm.engagements") == [(6,)]


def test_portal_without_engagements_or_deals_loads_empty_tables(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeHubSpot() as api:
        report = run_connector("raw_crm", db, _env(api))
    assert report["engagements"].records_fetched == 0 and report["deal_stage_history"].pages == 0
    assert report["engagements"].cursor_after == (NOW - dt.timedelta(days=3650)).isoformat()
    assert _rows(db, "select (select count(*) from raw_crm.engagements), (select count(*) from raw_crm.deal_stage_history)") == [(0, 0)]


def test_first_pull_past_the_10000_result_search_cap_returns_every_record_once(tmp_path):
    """HubSpot's search answers 400 past 10,000 results per query; the first pull asks for ten years."""
    db = tmp_path / "w.duckdb"
    total = 10_150
    with FakeHubSpot(page_size=100) as api:
        start = NOW - dt.timedelta(days=400)
        for n in range(total):
            # records 9,990..10,019 were changed at the same instant: they straddle the first query's cap
            at = start + dt.timedelta(minutes=min(n, 9_990) if n < 10_020 else n)
            api.put("contacts", str(n), at, email=f"c{n}@example.es", lifecyclestage="lead")
        report = run_connector("raw_crm", db, _env(api))
    contact_searches = [ms for obj, ms in api.searches if obj == "contacts"]
    tenth_thousand = start + dt.timedelta(minutes=9_990)  # the record at position 10,000 of the first query
    assert contact_searches[0] < contact_searches[-1] == int(tenth_thousand.replace(tzinfo=dt.UTC).timestamp() * 1000)
    assert len(set(contact_searches)) == 2  # one restart, from the last modification time seen
    assert report["contacts"].records_fetched == report["contacts"].rows_loaded == total
    assert _rows(db, "select count(*), count(distinct contact_id), min(contact_id::int), max(contact_id::int) "
                     "from raw_crm.contacts") == [(total, total, 0, total - 1)]  # fmt: skip
    assert report["contacts"].cursor_after == (start + dt.timedelta(minutes=total - 1)).isoformat()


def _search_env(api: FakeHubSpot) -> tuple[object, dict[str, str]]:
    from ingestion.live.common import http_client

    env = _env(api)
    return http_client(api.url, env, headers={"Authorization": f"Bearer {TOKEN}"}), env


def test_search_restarts_below_a_small_cap_with_ties_and_updates(tmp_path):
    from ingestion.live.hubspot import _search

    with FakeHubSpot(page_size=7, search_cap=50) as api:
        for n in range(130):  # groups of three records share a modification time
            api.put("contacts", str(n), NOW - dt.timedelta(hours=200 - n // 3), email=f"c{n}@x.es")
        client, _ = _search_env(api)
        records, page_count = _search(client, "contacts", "lastmodifieddate", ["email"],
                                      NOW - dt.timedelta(days=30), cap=50)  # fmt: skip
    ids = [r["id"] for r in records]
    assert sorted(ids, key=int) == [str(n) for n in range(130)] and len(ids) == len(set(ids)) == 130
    assert len({ms for _, ms in api.searches}) >= 3  # 130 records cannot come from one query capped at 50
    assert page_count == len(api.searches)
    with FakeHubSpot(page_size=7, search_cap=50) as api:  # the old single query fails on the cap
        for n in range(130):
            api.put("contacts", str(n), NOW - dt.timedelta(hours=200 - n), email=f"c{n}@x.es")
        client, _ = _search_env(api)
        with pytest.raises(LiveSourceError, match="HTTP 400"):
            _search(client, "contacts", "lastmodifieddate", ["email"], NOW - dt.timedelta(days=30), cap=10_000)


def test_search_cap_with_one_instant_holding_more_than_the_cap_fails_clearly(tmp_path):
    from ingestion.live.hubspot import _search

    with FakeHubSpot(page_size=10, search_cap=50) as api:
        for n in range(60):  # an import touched 60 contacts in the same millisecond
            api.put("contacts", str(n), NOW - dt.timedelta(hours=5), email=f"c{n}@x.es")
        client, _ = _search_env(api)
        with pytest.raises(LiveSourceError, match=r"hubspot: more than 50 contacts share the lastmodifieddate"):
            _search(client, "contacts", "lastmodifieddate", ["email"], NOW - dt.timedelta(days=30), cap=50)
