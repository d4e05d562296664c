"""HubSpot CRM (API v3): contacts, companies and deals changed since the cursor (CRM search sorted by
last-modified date, paged with ``paging.next.after``), deals' contact and company from the v4
associations batch read, and owners (full list each run). Cursor: the latest last-modified time seen,
minus ``SMARKETING_HUBSPOT_LOOKBACK_HOURS`` on the next run (HubSpot indexes search with a delay).

Engagements: calls, e-mails and meetings (each a CRM object searched the same way, with its contact from
the v4 associations) into ``raw_crm.engagements``. Deal stage history: the changed deals re-read with
``propertiesWithHistory=dealstage`` (batch read, 50 per call) into ``raw_crm.deal_stage_history``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from ingestion.live.common import (
    LiveLoad,
    LiveSourceError,
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
from ingestion.warehouse import connect as connect_warehouse

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
            "deals": ("deal_id", "deal_stage", "updated_at"), "owners": ("owner_id",),
            "engagements": ("engagement_id", "engagement_type", "occurred_at"),
            "deal_stage_history": ("history_id", "deal_id", "deal_stage", "entered_at")}  # fmt: skip

# engagement object: (type, properties read); all are modified on hs_lastmodifieddate, happen at hs_timestamp
ENGAGEMENTS: dict[str, tuple[str, list[str]]] = {
    "calls": ("CALL", ["hs_timestamp", "hubspot_owner_id", "hs_call_direction", "hs_call_disposition",
                       "hs_call_status", "hs_lastmodifieddate"]),
    "emails": ("EMAIL", ["hs_timestamp", "hubspot_owner_id", "hs_email_direction", "hs_email_status",
                         "hs_lastmodifieddate"]),
    "meetings": ("MEETING", ["hs_timestamp", "hubspot_owner_id", "hs_meeting_outcome", "hs_lastmodifieddate"]),
}  # fmt: skip
# HubSpot's default call dispositions (outcome ids); a portal's own dispositions are kept as their id.
CALL_DISPOSITIONS = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "CONNECTED",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "NO_ANSWER",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "LEFT_VOICEMAIL",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "LEFT_LIVE_MESSAGE",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "BUSY",
    "17b47fee-58de-441e-a44c-c6300d46f273": "WRONG_NUMBER",
}
EMAIL_DIRECTIONS = {"EMAIL": "OUTBOUND", "INCOMING_EMAIL": "INBOUND", "FORWARDED_EMAIL": "OUTBOUND"}


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
    with connect_warehouse(db_path) as con:
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
    pulls["engagements"] = _pull_engagements(client, cfg, cursors.get("engagements"), now)
    pulls["deal_stage_history"] = _pull_stage_history(client, pulls["deals"], cursors.get("deal_stage_history"))
    owners, owner_pages = _owners(client)
    owner_rows = [_owner_row(o) for o in owners]
    check_required("hubspot", SCHEMA, "owners", owner_rows, REQUIRED["owners"])
    known_owner = {"id", "email", "firstName", "lastName", "userId", "createdAt", "updatedAt", "archived", "teams"}
    pulls["owners"] = (Window(now, now, cursors.get("owners")), Pulled(owners, owner_rows, owner_pages, known_owner),
                       now.isoformat())  # fmt: skip
    # Everything was fetched and checked before anything is written.
    return {table: store(str(db_path), SOURCE, SCHEMA, table, window, pulled, None, None, [], cursor_after=after)
            for table, (window, pulled, after) in pulls.items()}  # fmt: skip


SEARCH_RESULT_CAP = 10_000  # HubSpot's CRM search returns at most 10,000 results per query (then HTTP 400)
SEARCH_PAGE = 100  # results per search page


def _search(client: Any, obj: str, modified: str, properties: list[str], since: dt.datetime,
            cap: int = SEARCH_RESULT_CAP) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """Records of ``obj`` modified at or after ``since``, oldest first, each once (its latest version).

    A search query cannot page past ``cap`` results, so a long history (the first pull asks for years) is read
    as a chain of queries: when the next page would cross the cap, the query starts again from the last
    ``modified`` value seen (sorted ascending, nothing is skipped); records at that instant come twice and are
    de-duplicated by id."""
    by_id: dict[str, dict[str, Any]] = {}
    count = 0
    since_ms = int(since.replace(tzinfo=dt.UTC).timestamp() * 1000)
    while True:
        body = {  # a fresh body per query: the paginator writes its cursor into it
            "filterGroups": [{"filters": [{"propertyName": modified, "operator": "GTE", "value": str(since_ms)}]}],
            "sorts": [{"propertyName": modified, "direction": "ASCENDING"}],
            "properties": [p for p in properties if p != "id"], "limit": SEARCH_PAGE,
        }  # fmt: skip

        def call(body: dict[str, Any] = body):
            return client.paginate(f"/crm/v3/objects/{obj}/search", method="POST", json=body,
                                   data_selector="results",
                                   paginator=JSONResponseCursorPaginator(cursor_path="paging.next.after",
                                                                         cursor_body_path="after"))  # fmt: skip

        in_query = 0
        capped = False
        for page in pages("hubspot", TOKEN_VAR, call):
            count += 1
            in_query += len(page)
            for record in page:
                by_id.pop(str(record["id"]), None)  # keep the latest version, in modification order
                by_id[str(record["id"])] = record
            if page and in_query + len(page) > cap:  # the next page would cross the cap: HTTP 400
                capped = True
                break
        if not capped:
            return list(by_id.values()), count
        last = (page[-1].get("properties") or {}).get(modified)
        last_ms = int(parse_utc(str(last)).replace(tzinfo=dt.UTC).timestamp() * 1000) if last else None
        if last_ms is None or last_ms <= since_ms:
            raise LiveSourceError(
                f"hubspot: more than {cap} {obj} share the {modified} {last!r}: the CRM search cannot page past "
                f"{cap} results per query and cannot narrow the query further; nothing was loaded"
            )
        since_ms = last_ms


def _pull_engagements(client: Any, cfg: Config, before: str | None, now: dt.datetime) -> tuple[Window, Pulled, str]:
    """Calls, e-mails and meetings changed since the cursor. The cursor moves to the earliest of the three
    types' latest modification, so a type that lags behind is asked again from where it stood."""
    since = parse_utc(before) - cfg.lookback if before else now - dt.timedelta(days=cfg.initial_days)
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    page_count = 0
    latest: list[dt.datetime] = []
    known = {"id", "createdAt", "updatedAt", "archived", "type", "associations.contacts"}
    for obj, (kind, properties) in ENGAGEMENTS.items():
        found, count = _search(client, obj, "hs_lastmodifieddate", properties, since)
        found = list({r["id"]: r for r in found}.values())
        page_count += count
        links = _associations(client, "contacts", [r["id"] for r in found], from_obj=obj) if found else {}
        for record in found:
            record["type"] = kind
            record["associations"] = {"contacts": links.get(str(record["id"]), [])}
            rows.append(_engagement_row(kind, record))
        known |= {f"properties.{p}" for p in properties}
        stamps = [parse_utc(r["properties"]["hs_lastmodifieddate"]) for r in found
                  if (r.get("properties") or {}).get("hs_lastmodifieddate")]  # fmt: skip
        if stamps:
            latest.append(max(stamps))
        records.extend(found)
    check_required("hubspot", SCHEMA, "engagements", rows, REQUIRED["engagements"])
    after = min(latest).isoformat() if latest else (before or since.isoformat())
    return Window(since, now, before), Pulled(records, rows, page_count, known), after


def _engagement_row(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    props = record.get("properties") or {}
    if kind == "CALL":
        direction = props.get("hs_call_direction")
        disposition = props.get("hs_call_disposition")
        outcome = CALL_DISPOSITIONS.get(disposition or "", disposition or props.get("hs_call_status"))
    elif kind == "EMAIL":
        direction = EMAIL_DIRECTIONS.get(props.get("hs_email_direction") or "", props.get("hs_email_direction"))
        outcome = "REPLIED" if direction == "INBOUND" else props.get("hs_email_status")
    else:
        direction, outcome = None, props.get("hs_meeting_outcome")
    return {"engagement_id": record.get("id"), "engagement_type": kind,
            "contact_id": next(iter(record["associations"]["contacts"]), None),
            "owner_id": props.get("hubspot_owner_id"), "occurred_at": props.get("hs_timestamp"),
            "direction": direction, "outcome": outcome}  # fmt: skip


def _pull_stage_history(client: Any, deals: tuple[Window, Pulled, str], before: str | None) -> tuple[Window, Pulled, str]:
    """Every dealstage value the changed deals ever had (``propertiesWithHistory``), one row per change."""
    window, pulled, after = deals
    ids = [str(r["id"]) for r in pulled.records]
    records: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    page_count = 0
    for start in range(0, len(ids), 50):  # HubSpot caps batch reads with history at 50 records
        def call(chunk: list[str] = ids[start: start + 50]):
            response = client.post("/crm/v3/objects/deals/batch/read",
                                   json={"propertiesWithHistory": ["dealstage"], "properties": [],
                                         "inputs": [{"id": i} for i in chunk]})  # fmt: skip
            response.raise_for_status()
            return [response.json()]

        for answer in pages("hubspot", TOKEN_VAR, call):
            page_count += 1
            for deal in answer.get("results", []):
                for change in (deal.get("propertiesWithHistory") or {}).get("dealstage", []):
                    entered = change.get("timestamp")
                    ms = int(parse_utc(entered).replace(tzinfo=dt.UTC).timestamp() * 1000) if entered else None
                    records.append({"dealId": deal.get("id"), **change})
                    rows.append({"history_id": f"{deal.get('id')}:{ms}" if ms is not None else None,
                                 "deal_id": deal.get("id"), "deal_stage": change.get("value"),
                                 "entered_at": entered,
                                 "changed_by_id": change.get("updatedByUserId") or change.get("sourceId")})  # fmt: skip
    check_required("hubspot", SCHEMA, "deal_stage_history", rows, REQUIRED["deal_stage_history"])
    known = {"dealId", "value", "timestamp", "sourceType", "sourceId", "sourceLabel", "updatedByUserId"}
    return Window(window.start, window.end, before), Pulled(records, rows, page_count, known), after


def _associations(client: Any, to: str, ids: list[str], from_obj: str = "deals") -> dict[str, list[str]]:
    links: dict[str, list[str]] = {}
    for start in range(0, len(ids), 1000):
        def call(chunk: list[str] = ids[start: start + 1000]):
            response = client.post(f"/crm/v4/associations/{from_obj}/{to}/batch/read",
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
