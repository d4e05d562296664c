"""HubSpot CRM (API v3): contacts, companies and deals changed since the cursor (CRM search sorted by
last-modified date, paged with ``paging.next.after``), deals' contact and company from the v4
associations batch read, and owners (full list each run). Cursor: the latest last-modified time seen,
minus ``SMARKETING_HUBSPOT_LOOKBACK_HOURS`` on the next run (HubSpot indexes search with a delay).

Not yet: engagements (calls, e-mails, meetings) and deal stage history (``propertiesWithHistory``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.live.common import (
    LiveLoad,
    Pulled,
    Window,
    check_required,
    env_required,
    http_client,
    pages,
    parse_utc,
    store,
)
from ingestion.raw_merge import CURSOR_TABLE, ensure_audit_tables

SOURCE, SCHEMA = "crm", "raw_crm"
TOKEN_VAR = "SMARKETING_HUBSPOT_ACCESS_TOKEN"

# table: (object, last-modified property, contract column -> HubSpot property; "id" is the record id)
OBJECTS: dict[str, tuple[str, str, dict[str, str]]] = {
    "contacts": ("contacts", "lastmodifieddate", {
        "contact_id": "id", "email": "email", "phone": "phone", "first_name": "firstname",
        "last_name": "lastname", "company_id": "associatedcompanyid", "job_title": "jobtitle",
        "job_role": "job_function", "country": "country", "original_source": "hs_analytics_source",
        "owner_id": "hubspot_owner_id", "lifecycle_stage": "lifecyclestage", "created_at": "createdate",
        "became_lead_at": "hs_lifecyclestage_lead_date",
        "became_mql_at": "hs_lifecyclestage_marketingqualifiedlead_date",
        "became_sql_at": "hs_lifecyclestage_salesqualifiedlead_date",
        "became_opportunity_at": "hs_lifecyclestage_opportunity_date",
        "became_customer_at": "hs_lifecyclestage_customer_date", "lead_status": "hs_lead_status",
        "updated_at": "lastmodifieddate"}),
    "companies": ("companies", "hs_lastmodifieddate", {
        "company_id": "id", "name": "name", "domain": "domain", "industry": "industry",
        "number_of_employees": "numberofemployees", "country": "country", "created_at": "createdate",
        "updated_at": "hs_lastmodifieddate"}),
    "deals": ("deals", "hs_lastmodifieddate", {
        "deal_id": "id", "deal_name": "dealname", "owner_id": "hubspot_owner_id", "pipeline": "pipeline",
        "deal_stage": "dealstage", "amount": "amount", "currency_code": "deal_currency_code",
        "created_at": "createdate", "closed_at": "closedate", "closed_lost_reason": "closed_lost_reason",
        "updated_at": "hs_lastmodifieddate"}),
}  # fmt: skip
REQUIRED = {"contacts": ("contact_id", "updated_at"), "companies": ("company_id", "updated_at"),
            "deals": ("deal_id", "deal_stage", "updated_at"), "owners": ("owner_id",)}  # fmt: skip


@dataclass(frozen=True)
class Config:
    api_url: str
    token: str
    lookback: dt.timedelta
    initial_days: int


def config(env: Mapping[str, str]) -> Config:
    return Config(
        api_url=env.get("SMARKETING_HUBSPOT_API_URL", "https://api.hubapi.com"),
        token=env_required(env, TOKEN_VAR, "a private-app token with crm.objects.*.read and crm.objects.owners.read"),
        lookback=dt.timedelta(hours=float(env.get("SMARKETING_HUBSPOT_LOOKBACK_HOURS", "2"))),
        initial_days=int(env.get("SMARKETING_CRM_INITIAL_DAYS", "3650")),
    )  # fmt: skip


def run(db_path: str | Path, env: Mapping[str, str], now: dt.datetime) -> dict[str, LiveLoad]:
    cfg = config(env)
    client = http_client(cfg.api_url, env, headers={"Authorization": f"Bearer {cfg.token}"})
    with duckdb.connect(str(db_path)) as con:
        ensure_audit_tables(con)
        cursors = dict(con.execute(f"select resource, cursor_value from {CURSOR_TABLE} where source = ?",
                                   [SOURCE]).fetchall())  # fmt: skip
    pulls: dict[str, tuple[Window, Pulled, str]] = {}
    for table, (obj, modified, fields) in OBJECTS.items():
        before = cursors.get(table)
        since = parse_utc(before) - cfg.lookback if before else now - dt.timedelta(days=cfg.initial_days)
        records, page_count = _search(client, obj, modified, list(dict.fromkeys(fields.values())), since)
        records = list({r["id"]: r for r in records}.values())  # a record edited while paging comes twice
        if table == "deals" and records:
            links = {kind: _associations(client, kind, [r["id"] for r in records]) for kind in ("contacts", "companies")}
            for record in records:
                record["associations"] = {k: links[k].get(str(record["id"]), []) for k in links}
        rows = [_row(r, fields) for r in records]
        if table == "deals":
            for row, record in zip(rows, records):
                row["contact_id"] = next(iter(record["associations"]["contacts"]), None)
                row["company_id"] = next(iter(record["associations"]["companies"]), None)
        check_required("hubspot", SCHEMA, table, rows, REQUIRED[table])
        latest = max((parse_utc(r["updated_at"]) for r in rows), default=None)
        after = latest.isoformat() if latest else (before or since.isoformat())
        known = {"id", "createdAt", "updatedAt", "archived", *(f"properties.{p}" for p in fields.values())}
        if table == "deals":
            known |= {"associations.contacts", "associations.companies"}
        pulls[table] = (Window(since, now, before), Pulled(records, rows, page_count, known), after)
    owners, owner_pages = _owners(client)
    owner_rows = [_owner_row(o) for o in owners]
    check_required("hubspot", SCHEMA, "owners", owner_rows, REQUIRED["owners"])
    known_owner = {"id", "email", "firstName", "lastName", "userId", "createdAt", "updatedAt", "archived", "teams"}
    pulls["owners"] = (Window(now, now, cursors.get("owners")), Pulled(owners, owner_rows, owner_pages, known_owner),
                       now.isoformat())  # fmt: skip
    # Everything was fetched and checked before anything is written.
    return {table: store(str(db_path), SOURCE, SCHEMA, table, window, pulled, None, None, [], cursor_after=after)
            for table, (window, pulled, after) in pulls.items()}  # fmt: skip


def _search(client: Any, obj: str, modified: str, properties: list[str], since: dt.datetime):
    body = {
        "filterGroups": [{"filters": [{"propertyName": modified, "operator": "GTE",
                                       "value": str(int(since.replace(tzinfo=dt.UTC).timestamp() * 1000))}]}],
        "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
        "properties": [p for p in properties if p != "id"], "limit": 100,
    }  # fmt: skip
    records: list[dict[str, Any]] = []
    count = 0

    def call():
        return client.paginate(f"/crm/v3/objects/{obj}/search", method="POST", json=body, data_selector="results",
                               paginator=JSONResponseCursorPaginator(cursor_path="paging.next.after",
                                                                     cursor_body_path="after"))  # fmt: skip

    for page in pages("hubspot", TOKEN_VAR, call):
        count += 1
        records.extend(page)
    return records, count


def _associations(client: Any, to: str, ids: list[str]) -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for start in range(0, len(ids), 1000):
        def call(chunk: list[str] = ids[start: start + 1000]):
            response = client.post(f"/crm/v4/associations/deals/{to}/batch/read",
                                   json={"inputs": [{"id": str(i)} for i in chunk]})  # fmt: skip
            response.raise_for_status()
            return [response.json()]

        for answer in pages("hubspot", TOKEN_VAR, call):
            for result in answer.get("results", []):
                links[str(result["from"]["id"])] = [str(t["toObjectId"]) for t in result.get("to", [])]
    return links


def _owners(client: Any) -> tuple[list[dict[str, Any]], int]:
    owners: list[dict[str, Any]] = []
    count = 0

    def call():
        return client.paginate("/crm/v3/owners", params={"limit": 100, "archived": "false"}, data_selector="results",
                               paginator=JSONResponseCursorPaginator(cursor_path="paging.next.after",
                                                                     cursor_param="after"))  # fmt: skip

    for page in pages("hubspot", TOKEN_VAR, call):
        count += 1
        owners.extend(page)
    return owners, count


def _row(record: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    props = record.get("properties") or {}
    return {column: (record.get("id") if prop == "id" else props.get(prop)) for column, prop in fields.items()}


def _owner_row(owner: dict[str, Any]) -> dict[str, Any]:
    teams = owner.get("teams") or []
    primary = next((t for t in teams if t.get("primary")), teams[0] if teams else {})
    return {"owner_id": owner.get("id"), "first_name": owner.get("firstName"), "last_name": owner.get("lastName"),
            "email": owner.get("email"), "team": primary.get("name"), "region": None,
            "is_active": not owner.get("archived", False), "created_at": owner.get("createdAt")}  # fmt: skip
