"""Salesforce (REST API, SOQL): leads, contacts, accounts, users, opportunities with their stage history
(``OpportunityHistory``) and tasks, into the raw_crm contract.

Each object is read with ``queryAll`` (which also returns deleted records, ``IsDeleted = true``) filtered on
``SystemModstamp >= cursor - look-back`` and ordered by it, paged with ``nextRecordsUrl``. Per raw table:

- contacts: open leads (``00Q…`` ids, lead status and source as typed) and contacts. A lead converted into
  a contact leaves ``raw_crm.contacts`` and becomes a ``raw_crm.contact_merges`` row (lead id merged into
  the contact), so a person who was first a lead is counted once and the lead's web history follows them;
  the contact's ``became_lead_at`` is the converted lead's creation time when both arrive together.
- deals: opportunities; ``deal_stage`` is ``closedwon``/``closedlost`` from ``IsWon``/``IsClosed`` and the
  stage name folded to lowercase letters and digits otherwise ("Id. Decision Makers" -> ``iddecisionmakers``).
- deal_stage_history: ``OpportunityHistory`` (one row per stage, amount or close-date change, with the
  stage as of then).
- engagements: tasks (calls, e-mails; other tasks as ``TASK``), ``WhoId`` as the contact (or lead).
- Deleted records are landed and their rows removed from the raw table.

Auth: ``SMARKETING_SALESFORCE_ACCESS_TOKEN``, or a connected app's client-credentials flow
(``SMARKETING_SALESFORCE_CLIENT_ID``/``_CLIENT_SECRET``). A 401 fails at once naming the variable; a
queried field the org does not have (``INVALID_FIELD``) stops the load naming object, table and field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator
from requests import HTTPError

from ingestion.live.common import (
    CredentialsError,
    LiveLoad,
    Pulled,
    SchemaDriftError,
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

SOURCE, SCHEMA = "salesforce", "raw_crm"
TOKEN_VAR = "SMARKETING_SALESFORCE_ACCESS_TOKEN"
CLIENT_VARS = ("SMARKETING_SALESFORCE_CLIENT_ID", "SMARKETING_SALESFORCE_CLIENT_SECRET")

FIELDS: dict[str, list[str]] = {
    "Lead": ["Id", "Email", "Phone", "FirstName", "LastName", "Company", "Title", "Country", "LeadSource", "OwnerId",
             "Status", "CreatedDate", "IsConverted", "ConvertedContactId", "ConvertedDate", "IsDeleted",
             "SystemModstamp"],
    "Contact": ["Id", "Email", "Phone", "FirstName", "LastName", "AccountId", "Title", "MailingCountry",
                "LeadSource", "OwnerId", "CreatedDate", "IsDeleted", "SystemModstamp"],
    "Account": ["Id", "Name", "Website", "Industry", "NumberOfEmployees", "BillingCountry", "CreatedDate",
                "IsDeleted", "SystemModstamp"],
    "User": ["Id", "FirstName", "LastName", "Email", "Department", "IsActive", "CreatedDate", "SystemModstamp"],
    "Opportunity": ["Id", "Name", "AccountId", "ContactId", "OwnerId", "StageName", "IsClosed", "IsWon", "Amount",
                    "CreatedDate", "CloseDate", "IsDeleted", "SystemModstamp"],
    "OpportunityHistory": ["Id", "OpportunityId", "StageName", "CreatedDate", "CreatedById", "IsDeleted",
                           "SystemModstamp"],
    "Task": ["Id", "WhoId", "OwnerId", "TaskSubtype", "Type", "CallType", "CallDisposition", "Status",
             "ActivityDate", "CompletedDateTime", "CreatedDate", "IsDeleted", "SystemModstamp"],
}  # fmt: skip
# raw table: the objects feeding it (one cursor per table: the earliest of its objects' latest change)
TABLES: dict[str, tuple[str, ...]] = {
    "contacts": ("Lead", "Contact"), "companies": ("Account",), "owners": ("User",), "deals": ("Opportunity",),
    "deal_stage_history": ("OpportunityHistory",), "engagements": ("Task",),
}  # fmt: skip
REQUIRED = {
    "contacts": ("contact_id", "updated_at"), "companies": ("company_id", "updated_at"), "owners": ("owner_id",),
    "deals": ("deal_id", "deal_stage", "updated_at"),
    "deal_stage_history": ("history_id", "deal_id", "deal_stage", "entered_at"),
    "engagements": ("engagement_id", "engagement_type", "occurred_at"),
    "contact_merges": ("merged_contact_id", "merged_into_contact_id"),
}  # fmt: skip


@dataclass(frozen=True)
class Config:
    instance_url: str
    api_version: str
    lookback: dt.timedelta
    initial_days: int
    currency: str | None
    token: str | None
    client: tuple[str, str] | None


def config(env: Mapping[str, str]) -> Config:
    instance = env_required(env, "SMARKETING_SALESFORCE_INSTANCE_URL", "your org's URL, https://<domain>.my.salesforce.com")
    token = env.get(TOKEN_VAR, "").strip() or None
    client = None
    if token is None:
        if not any(env.get(v, "").strip() for v in CLIENT_VARS):
            raise CredentialsError(f"{TOKEN_VAR} is not set (nor {CLIENT_VARS[0]} and {CLIENT_VARS[1]} for the "
                                   "client-credentials flow). See .env.example.")  # fmt: skip
        client = (env_required(env, CLIENT_VARS[0], "the connected app's consumer key"),
                  env_required(env, CLIENT_VARS[1], "the connected app's consumer secret"))  # fmt: skip
    return Config(
        instance_url=instance.rstrip("/"), api_version=env.get("SMARKETING_SALESFORCE_API_VERSION", "v62.0"),
        lookback=dt.timedelta(hours=float(env.get("SMARKETING_SALESFORCE_LOOKBACK_HOURS", "1"))),
        initial_days=int(env.get("SMARKETING_CRM_INITIAL_DAYS", "3650")),
        currency=env.get("SMARKETING_SALESFORCE_CURRENCY", "").strip().upper() or None, token=token, client=client,
    )  # fmt: skip


def _access_token(cfg: Config, env: Mapping[str, str]) -> tuple[str, str]:
    """The bearer token and the variable naming it (for error messages)."""
    if cfg.token:
        return cfg.token, TOKEN_VAR
    client = http_client(cfg.instance_url, env)
    names = f"{CLIENT_VARS[0]}/{CLIENT_VARS[1]}"

    def call():
        response = client.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": cfg.client[0], "client_secret": cfg.client[1]})
        if response.status_code in (400, 401):  # invalid_client / invalid_grant
            raise CredentialsError(f"salesforce: the token endpoint refused the client credentials "
                                   f"(HTTP {response.status_code}); check {names}")  # fmt: skip
        response.raise_for_status()
        return [response.json()]

    (answer,) = list(pages("salesforce", names, call))
    if not answer.get("access_token"):
        raise CredentialsError(f"salesforce: the token endpoint answered without an access_token; check {names}")
    return answer["access_token"], names


def run(db_path: str | Path, env: Mapping[str, str], now: dt.datetime) -> dict[str, LiveLoad]:
    cfg = config(env)
    token, token_var = _access_token(cfg, env)
    client = http_client(cfg.instance_url, env, headers={"Authorization": f"Bearer {token}"})
    with connect_warehouse(db_path) as con:
        ensure_audit_tables(con)
        cursors = dict(con.execute(f"select resource, cursor_value from {CURSOR_TABLE} where source = ?",
                                   [SOURCE]).fetchall())  # fmt: skip
    fetched: dict[str, tuple[Window, dict[str, tuple[list[dict[str, Any]], int]], str]] = {}
    for table, objects in TABLES.items():
        before = cursors.get(table)
        since = parse_utc(before) - cfg.lookback if before else now - dt.timedelta(days=cfg.initial_days)
        by_object = {obj: _query(client, cfg, token_var, obj, table, since) for obj in objects}
        stamps = [max(parse_utc(r["SystemModstamp"]) for r in found) for found, _ in by_object.values() if found]
        after = min(stamps).isoformat() if stamps else (before or since.isoformat())
        fetched[table] = (Window(since, now, before), by_object, after)

    pulls = _map(fetched, cfg)
    # Everything was fetched and checked before anything is written.
    return {table: store(str(db_path), SOURCE, SCHEMA, table, window, pulled, None, None, [], cursor_after=after)
            for table, (window, pulled, after) in pulls.items()}  # fmt: skip


def _query(client: Any, cfg: Config, token_var: str, obj: str, table: str, since: dt.datetime):
    stamp = since.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    deleted = "IsDeleted" in FIELDS[obj]
    soql = (f"SELECT {', '.join(FIELDS[obj])} FROM {obj} WHERE SystemModstamp >= {stamp} "
            f"ORDER BY SystemModstamp, Id")  # fmt: skip
    path = f"/services/data/{cfg.api_version}/{'queryAll' if deleted else 'query'}"
    records: list[dict[str, Any]] = []
    count = 0

    def call():
        try:
            yield from client.paginate(path, params={"q": soql}, data_selector="records",
                                       paginator=JSONLinkPaginator(next_url_path="nextRecordsUrl"))  # fmt: skip
        except HTTPError as exc:
            _raise_drift(exc, obj, table)
            raise

    for page in pages("salesforce", token_var, call):
        count += 1
        records.extend(page)
    return list({r.get("Id"): r for r in records}.values()), count


def _raise_drift(exc: HTTPError, obj: str, table: str) -> None:
    if exc.response is None or exc.response.status_code != 400:
        return
    try:
        errors = exc.response.json()
    except ValueError:
        return
    for error in errors if isinstance(errors, list) else []:
        if error.get("errorCode") == "INVALID_FIELD":
            match = re.search(r"No such column '([^']+)'", error.get("message", ""))
            field = match.group(1) if match else "?"
            raise SchemaDriftError(
                f"salesforce: required field {field!r} missing in {SCHEMA}.{table} (object {obj} has no such "
                f"field in this org: {error.get('message', '').splitlines()[-1]}). Nothing was loaded."
            ) from None


def _stage(name: str | None) -> str | None:
    return re.sub(r"[^a-z0-9]", "", name.lower()) if name else None


def _country(value: str | None) -> str | None:
    return value.strip() if value else None


def _map(fetched: dict[str, Any], cfg: Config) -> dict[str, tuple[Window, Pulled, str]]:
    pulls: dict[str, tuple[Window, Pulled, str]] = {}

    def pull(table: str, records: list[dict], row: Callable[[dict], dict], removed: list[dict], pages_: int,
             objects: tuple[str, ...]) -> None:  # fmt: skip
        window, _, after = fetched[table]
        rows = [row(r) for r in records]
        check_required("salesforce", SCHEMA, table, rows, REQUIRED[table])
        known = {"attributes.type", "attributes.url", *(f for o in objects for f in FIELDS[o])}
        pulls[table] = (window, Pulled(records, rows, pages_, known, removed, [r["Id"] for r in removed]), after)

    def split(by_object: dict, obj: str) -> tuple[list[dict], list[dict], int]:
        found, count = by_object[obj]
        return [r for r in found if not r.get("IsDeleted")], [r for r in found if r.get("IsDeleted")], count

    # contacts and contact_merges (converted leads)
    window, by_object, after = fetched["contacts"]
    leads, deleted_leads, lead_pages = split(by_object, "Lead")
    contacts, deleted_contacts, contact_pages = split(by_object, "Contact")
    converted = [r for r in leads if r.get("IsConverted")]
    open_leads = [r for r in leads if not r.get("IsConverted")]
    first_lead = {}
    for lead in converted:
        key = lead.get("ConvertedContactId")
        if key and (key not in first_lead or lead["CreatedDate"] < first_lead[key]):
            first_lead[key] = lead["CreatedDate"]
    pull("contacts", open_leads + contacts, lambda r: _contact_row(r, first_lead),
         deleted_leads + deleted_contacts + converted, lead_pages + contact_pages, ("Lead", "Contact"))
    merges_window = Window(window.start, window.end, None)
    merge_rows = [{"merged_contact_id": r["Id"], "merged_into_contact_id": r.get("ConvertedContactId"),
                   "email": r.get("Email"), "merged_at": r.get("ConvertedDate")} for r in converted]  # fmt: skip
    check_required("salesforce", SCHEMA, "contact_merges", merge_rows, REQUIRED["contact_merges"])
    pulls["contact_merges"] = (merges_window, Pulled(converted, merge_rows, 0, {f for f in FIELDS["Lead"]} | {
        "attributes.type", "attributes.url"}, deleted_leads, [r["Id"] for r in deleted_leads]), after)  # fmt: skip

    accounts, gone, n = split(fetched["companies"][1], "Account")
    pull("companies", accounts, _company_row, gone, n, ("Account",))
    users, gone, n = split(fetched["owners"][1], "User")
    pull("owners", users, _owner_row, gone, n, ("User",))
    deals, gone, n = split(fetched["deals"][1], "Opportunity")
    pull("deals", deals, lambda r: _deal_row(r, cfg.currency), gone, n, ("Opportunity",))
    history, gone, n = split(fetched["deal_stage_history"][1], "OpportunityHistory")
    pull("deal_stage_history", history, _history_row, gone, n, ("OpportunityHistory",))
    tasks, gone, n = split(fetched["engagements"][1], "Task")
    pull("engagements", tasks, _task_row, gone, n, ("Task",))
    return pulls


def _contact_row(r: dict[str, Any], first_lead: dict[str, str]) -> dict[str, Any]:
    is_lead = r.get("attributes", {}).get("type") == "Lead" or str(r.get("Id", "")).startswith("00Q")
    became_lead = min(filter(None, [first_lead.get(r.get("Id")), r.get("CreatedDate")]), default=None)
    return {
        "contact_id": r.get("Id"), "email": r.get("Email"), "phone": r.get("Phone"), "first_name": r.get("FirstName"),
        "last_name": r.get("LastName"), "company_id": None if is_lead else r.get("AccountId"),
        "job_title": r.get("Title"), "job_role": None,
        "country": _country(r.get("Country") if is_lead else r.get("MailingCountry")),
        "original_source": r.get("LeadSource"), "owner_id": r.get("OwnerId"),
        "lifecycle_stage": "lead" if is_lead else "contact", "created_at": r.get("CreatedDate"),
        "became_lead_at": became_lead, "became_mql_at": None, "became_sql_at": None, "became_opportunity_at": None,
        "became_customer_at": None, "lead_status": r.get("Status") if is_lead else None,
        "updated_at": r.get("SystemModstamp"),
    }  # fmt: skip


def _company_row(r: dict[str, Any]) -> dict[str, Any]:
    website = r.get("Website")
    domain = re.sub(r"^(https?://)?(www\.)?", "", website).split("/")[0].lower() if website else None
    return {"company_id": r.get("Id"), "name": r.get("Name"), "domain": domain, "industry": r.get("Industry"),
            "number_of_employees": r.get("NumberOfEmployees"), "country": _country(r.get("BillingCountry")),
            "created_at": r.get("CreatedDate"), "updated_at": r.get("SystemModstamp")}  # fmt: skip


def _owner_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"owner_id": r.get("Id"), "first_name": r.get("FirstName"), "last_name": r.get("LastName"),
            "email": r.get("Email"), "team": r.get("Department"), "region": None,
            "is_active": r.get("IsActive"), "created_at": r.get("CreatedDate")}  # fmt: skip


def _deal_row(r: dict[str, Any], currency: str | None) -> dict[str, Any]:
    stage = ("closedwon" if r.get("IsWon") else "closedlost") if r.get("IsClosed") else _stage(r.get("StageName"))
    return {"deal_id": r.get("Id"), "deal_name": r.get("Name"), "contact_id": r.get("ContactId"),
            "company_id": r.get("AccountId"), "owner_id": r.get("OwnerId"), "pipeline": "default",
            "deal_stage": stage if r.get("StageName") is not None else None, "amount": r.get("Amount"),
            "currency_code": currency, "created_at": r.get("CreatedDate"),
            "closed_at": f"{r['CloseDate']}T00:00:00" if r.get("IsClosed") and r.get("CloseDate") else None,
            "closed_lost_reason": None, "updated_at": r.get("SystemModstamp")}  # fmt: skip


def _history_row(r: dict[str, Any]) -> dict[str, Any]:
    return {"history_id": r.get("Id"), "deal_id": r.get("OpportunityId"), "deal_stage": _stage(r.get("StageName")),
            "entered_at": r.get("CreatedDate"), "changed_by_id": r.get("CreatedById")}  # fmt: skip


TASK_TYPES = {"Call": "CALL", "Email": "EMAIL", "ListEmail": "EMAIL", "LinkedIn": "LINKEDIN", "Cadence": "TASK"}


def _task_row(r: dict[str, Any]) -> dict[str, Any]:
    kind = "MEETING" if (r.get("Type") or "").lower() == "meeting" else TASK_TYPES.get(r.get("TaskSubtype") or "", "TASK")
    if kind == "CALL":
        direction = (r.get("CallType") or "").upper() or None
        outcome = (r.get("CallDisposition") or r.get("Status") or "").upper().replace(" ", "_") or None
    else:
        direction = "OUTBOUND" if kind == "EMAIL" else None
        outcome = (r.get("Status") or "").upper().replace(" ", "_") or None
    occurred = r.get("CompletedDateTime") or (f"{r['ActivityDate']}T00:00:00" if r.get("ActivityDate") else None)
    return {"engagement_id": r.get("Id"), "engagement_type": kind, "contact_id": r.get("WhoId"),
            "owner_id": r.get("OwnerId"), "occurred_at": occurred or r.get("CreatedDate"), "direction": direction,
            "outcome": outcome}  # fmt: skip
