"""Salesforce connector against a local server that behaves like Salesforce's REST query API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from ingestion.live import run_connector
from ingestion.live.common import CredentialsError, LiveSourceError, SchemaDriftError
from tests.fake_ad_apis import TOKEN, Fault
from tests.fake_salesforce import CLIENT_ID, CLIENT_SECRET, FakeSalesforce

NOW = dt.datetime(2026, 11, 10, 12, 0)


def _env(api: FakeSalesforce, now: dt.datetime = NOW, **extra: str) -> dict[str, str]:
    return {"SMARKETING_CRM_LIVE_SYSTEM": "salesforce", "SMARKETING_SALESFORCE_INSTANCE_URL": api.url,
            "SMARKETING_SALESFORCE_ACCESS_TOKEN": TOKEN, "SMARKETING_SALESFORCE_CURRENCY": "eur",
            "SMARKETING_LIVE_NOW": now.isoformat(), "SMARKETING_HTTP_MAX_ATTEMPTS": "4",
            "SMARKETING_HTTP_BACKOFF_FACTOR": "0.05", "SMARKETING_HTTP_TIMEOUT_SECONDS": "5", **extra}  # fmt: skip


def _world(api: FakeSalesforce) -> None:
    day = dt.timedelta(days=1)
    for n in range(1, 5):  # four open leads
        api.put("Lead", f"00Q{n}", NOW - (10 - n) * day, Email=f"lead{n}@example.es", FirstName="Begoña",
                LastName="Núñez", Country="ES", LeadSource="Web", Status="Open - Not Contacted", IsConverted=False,
                OwnerId="005A")
    api.put("Lead", "00Q9", NOW - 3 * day, Email="ana@acme.es", IsConverted=True, ConvertedContactId="003A",
            ConvertedDate="2026-11-07", Status="Closed - Converted", CreatedDate="2026-09-01T08:00:00.000+0000")
    api.put("Contact", "003A", NOW - 3 * day, Email="ana@acme.es", AccountId="001A", MailingCountry="ES",
            LeadSource="Web", OwnerId="005A", CreatedDate="2026-11-07T10:00:00.000+0000")
    api.put("Account", "001A", NOW - 3 * day, Name="Acme Ibérica SL", Website="https://www.acme.es/inicio",
            NumberOfEmployees=120, BillingCountry="ES")
    api.put("User", "005A", NOW - 300 * day, FirstName="Lucía", LastName="Ruiz", Email="lucia@x.es",
            Department="Iberia", IsActive=True)
    api.put("Opportunity", "006A", NOW - 2 * day, Name="Acme - sillas", AccountId="001A", ContactId="003A",
            OwnerId="005A", StageName="Closed Won", IsClosed=True, IsWon=True, Amount=4200.5, CloseDate="2026-11-08")
    api.put("Opportunity", "006B", NOW - 1 * day, Name="Acme - mesas", AccountId="001A", ContactId="003A",
            OwnerId="005A", StageName="Id. Decision Makers", IsClosed=False, IsWon=False, Amount=900)
    for n, (stage, at) in enumerate([("Prospecting", 6), ("Negotiation/Review", 4), ("Closed Won", 2)]):
        api.put("OpportunityHistory", f"008A{n}", NOW - at * day, OpportunityId="006A", StageName=stage,
                CreatedDate=(NOW - at * day).strftime("%Y-%m-%dT%H:%M:%S.000+0000"), CreatedById="005A")
    api.put("Task", "00TA", NOW - 5 * day, WhoId="00Q1", OwnerId="005A", TaskSubtype="Call", CallType="Outbound",
            CallDisposition="Left voicemail", Status="Completed", CompletedDateTime="2026-11-05T09:30:00.000+0000")
    api.put("Task", "00TB", NOW - 4 * day, WhoId="003A", OwnerId="005A", TaskSubtype="Email", Status="Completed",
            ActivityDate="2026-11-06")
    api.put("Task", "00TC", NOW - 4 * day, WhoId="003A", OwnerId="005A", TaskSubtype="Task", Type="Meeting",
            Status="Completed", ActivityDate="2026-11-06")


def _rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_pages_every_object_and_maps_to_the_crm_contract(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeSalesforce() as api:
        _world(api)
        report = run_connector("raw_crm", db, _env(api))
    assert {t: (r.records_fetched, r.rows_loaded, r.rows_removed) for t, r in report.items()} == {
        "contacts": (6, 5, 1),  # 4 open leads + 1 contact loaded; the converted lead leaves contacts...
        "contact_merges": (1, 1, 0),  # ...and becomes a merge into its contact
        "companies": (1, 1, 0), "owners": (1, 1, 0), "deals": (2, 2, 0), "deal_stage_history": (3, 3, 0),
        "engagements": (3, 3, 0)}
    assert report["contacts"].pages == 3 + 1  # 5 leads by 2, 1 contact
    assert all(r.metadata()["reconciled"] for r in report.values())
    assert _rows(db, "select contact_id, first_name, lifecycle_stage, lead_status, original_source from raw_crm.contacts "
                     "where contact_id = '00Q2'") == [("00Q2", "Begoña", "lead", "Open - Not Contacted", "Web")]
    # the contact became a lead when its (converted) lead was created
    assert _rows(db, "select company_id, became_lead_at, created_at from raw_crm.contacts where contact_id = '003A'") == [
        ("001A", dt.datetime(2026, 9, 1, 8), dt.datetime(2026, 11, 7, 10))]
    assert _rows(db, "select * exclude (_batch_id, _loaded_at, _source) from raw_crm.contact_merges") == [
        ("00Q9", "003A", "ana@acme.es", dt.datetime(2026, 11, 7))]
    assert _rows(db, "select name, domain, number_of_employees from raw_crm.companies") == [("Acme Ibérica SL", "acme.es", 120)]
    assert _rows(db, "select deal_id, deal_stage, amount, currency_code, closed_at, contact_id from raw_crm.deals order by 1") == [
        ("006A", "closedwon", Decimal("4200.50"), "EUR", dt.datetime(2026, 11, 8), "003A"),
        ("006B", "iddecisionmakers", Decimal("900.00"), "EUR", None, "003A")]
    assert _rows(db, "select deal_stage from raw_crm.deal_stage_history order by entered_at") == [
        ("prospecting",), ("negotiationreview",), ("closedwon",)]
    assert _rows(db, "select engagement_id, engagement_type, contact_id, occurred_at, direction, outcome "
                     "from raw_crm.engagements order by 1") == [
        ("00TA", "CALL", "00Q1", dt.datetime(2026, 11, 5, 9, 30), "OUTBOUND", "LEFT_VOICEMAIL"),
        ("00TB", "EMAIL", "003A", dt.datetime(2026, 11, 6), "OUTBOUND", "COMPLETED"),
        ("00TC", "MEETING", "003A", dt.datetime(2026, 11, 6), None, "COMPLETED")]
    assert _rows(db, "select team, is_active from raw_crm.owners") == [("Iberia", True)]


def test_incremental_on_systemmodstamp_with_lookback_deletes_and_conversions(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeSalesforce() as api:
        _world(api)
        first = run_connector("raw_crm", db, _env(api))
        api.queries.clear()
        later = NOW + dt.timedelta(days=1)
        api.put("Lead", "00Q2", later - dt.timedelta(hours=3), IsConverted=True, ConvertedContactId="003B",
                ConvertedDate="2026-11-10", Status="Closed - Converted")
        api.put("Contact", "003B", later - dt.timedelta(hours=3), Email="lead2@example.es", OwnerId="005A")
        api.delete("Lead", "00Q3", later - dt.timedelta(hours=2))
        api.delete("Task", "00TB", later - dt.timedelta(hours=2))
        report = run_connector("raw_crm", db, _env(api, later))
    # contacts' cursor: the earlier of Lead's and Contact's latest change (both 3 days before NOW), minus 1 hour
    since = (NOW - dt.timedelta(days=3, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ("queryAll", "Lead", since) in api.queries and ("queryAll", "Contact", since) in api.queries
    assert first["contacts"].cursor_after == (NOW - dt.timedelta(days=3)).isoformat()
    assert ("query", "User", (NOW - dt.timedelta(days=300, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")) in api.queries
    assert _rows(db, "select contact_id from raw_crm.contacts order by 1") == [("003A",), ("003B",), ("00Q1",), ("00Q4",)]
    assert _rows(db, "select merged_contact_id, merged_into_contact_id from raw_crm.contact_merges order by 1") == [
        ("00Q2", "003B"), ("00Q9", "003A")]
    assert _rows(db, "select engagement_id from raw_crm.engagements order by 1") == [("00TA",), ("00TC",)]
    assert report["engagements"].rows_removed == 1 and report["engagements"].metadata()["reconciled"]


def test_retries_429_with_retry_after_and_500(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeSalesforce() as api:
        _world(api)
        api.faults = [Fault("FROM Lead", 429, {"Retry-After": "1"}), Fault("query/01gFAKE", 500),
                      Fault("FROM Task", 503)]
        report = run_connector("raw_crm", db, _env(api))
        assert api.faults == []  # every fault was served, then retried
    assert report["contacts"].rows_loaded == 5 and report["engagements"].rows_loaded == 3


def test_bad_token_fails_fast_naming_the_variable(tmp_path):
    with FakeSalesforce() as api:
        with pytest.raises(CredentialsError, match="check SMARKETING_SALESFORCE_ACCESS_TOKEN"):
            run_connector("raw_crm", tmp_path / "w.duckdb", _env(api, SMARKETING_SALESFORCE_ACCESS_TOKEN="expired"))
        assert len(api.requests) == 1  # no retries on 401
        with pytest.raises(CredentialsError, match="SMARKETING_SALESFORCE_INSTANCE_URL is not set"):
            run_connector("raw_crm", tmp_path / "w.duckdb", _env(api, SMARKETING_SALESFORCE_INSTANCE_URL=""))


def test_client_credentials_flow_and_its_bad_secret(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeSalesforce() as api:
        _world(api)
        env = _env(api, SMARKETING_SALESFORCE_ACCESS_TOKEN="", SMARKETING_SALESFORCE_CLIENT_ID=CLIENT_ID,
                   SMARKETING_SALESFORCE_CLIENT_SECRET=CLIENT_SECRET)  # fmt: skip
        assert run_connector("raw_crm", db, env)["deals"].rows_loaded == 2
        with pytest.raises(CredentialsError, match="SMARKETING_SALESFORCE_CLIENT_ID/SMARKETING_SALESFORCE_CLIENT_SECRET"):
            run_connector("raw_crm", db, {**env, "SMARKETING_SALESFORCE_CLIENT_SECRET": "wrong"})
        with pytest.raises(CredentialsError, match="SMARKETING_SALESFORCE_CLIENT_ID is not set"):
            run_connector("raw_crm", db, {**env, "SMARKETING_SALESFORCE_CLIENT_ID": ""})
        with pytest.raises(CredentialsError, match="SMARKETING_SALESFORCE_ACCESS_TOKEN is not set"):
            run_connector("raw_crm", db, {**env, "SMARKETING_SALESFORCE_CLIENT_ID": "", "SMARKETING_SALESFORCE_CLIENT_SECRET": ""})


def test_malformed_body_and_exhausted_limit_stop_without_loading(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeSalesforce() as api:
        _world(api)
        api.faults = [Fault("FROM Opportunity ", 200, body="<html>Maintenance</html>")]
        with pytest.raises(LiveSourceError, match="salesforce: malformed response body"):
            run_connector("raw_crm", db, _env(api))
        api.faults = [Fault("FROM Account", 403, body='[{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]')]
        with pytest.raises(LiveSourceError, match="request limit is exhausted"):
            run_connector("raw_crm", db, _env(api))
    assert _rows(db, "select count(*) from information_schema.tables where table_schema = 'raw_crm'") == [(0,)]


def test_empty_org_loads_nothing_and_keeps_cursors(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeSalesforce() as api:
        report = run_connector("raw_crm", db, _env(api))
    assert all(r.records_fetched == 0 for r in report.values())
    assert report["deals"].cursor_after == (NOW - dt.timedelta(days=3650)).isoformat()


def test_drift_new_field_kept_missing_field_stops_naming_it(tmp_path):
    db = tmp_path / "w.duckdb"
    with FakeSalesforce() as api:
        _world(api)
        api.extra_field = "Region__c"
        report = run_connector("raw_crm", db, _env(api))
        assert report["deals"].new_fields == ["Region__c"]
        api.extra_field = None
        api.missing_fields = {("Opportunity", "StageName")}
        with pytest.raises(SchemaDriftError, match=r"salesforce: required field 'StageName' missing in raw_crm.deals "
                                                   r"\(object Opportunity"):
            run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(hours=1)))
        api.missing_fields = set()
        api.null_field = ("OpportunityHistory", "OpportunityId")
        with pytest.raises(SchemaDriftError, match="required field 'deal_id' missing in raw_crm.deal_stage_history"):
            run_connector("raw_crm", db, _env(api, NOW + dt.timedelta(hours=1)))
    assert _rows(db, "select count(*) from raw_crm.deal_stage_history") == [(3,)]
