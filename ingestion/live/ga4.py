"""GA4 from its BigQuery export: the daily ``events_YYYYMMDD`` tables, extracted as newline-delimited JSON
(optionally gzipped) or Parquet files into a folder (``SMARKETING_GA4_EXPORT_DIR``; e.g. ``bq extract
--destination_format NEWLINE_DELIMITED_JSON 'project:analytics_123.events_*' gs://bucket/ga4/events_*.json``
then ``gsutil rsync``). Why the export and not the Data API: ``raw_web`` needs one row per session, page
view and form submission keyed by an anonymous visitor id, and only the export has them
(``user_pseudo_id``, the ``ga_session_id`` event parameter, ``page_location``, ``page_referrer``); the Data
API's ``runReport`` returns aggregates (sessions by date and source/medium) that cannot be joined to leads.

Incremental by day: the cursor is the last day read; the next run re-reads from the cursor minus
``SMARKETING_GA4_LOOKBACK_DAYS`` (default 3: GA4 rewrites a daily table for up to 72 hours as late hits
arrive), plus the day before as context for sessions that cross midnight, and replaces those sessions,
page views and form submissions (merged on their keys).

- sessions: ``<user_pseudo_id>.<ga_session_id>``: first and last event, landing page and referrer of the
  first event carrying ``page_location``, device category, country (ISO code when known), page views.
- page_views: ``page_view`` events; form_submissions: ``form_submit`` events (enhanced measurement),
  ``form_id``/``form_name`` as the form; GA4 carries no e-mail (Google forbids personal data), so leads are
  tied to visitors by the CRM's own form capture.
- Events without ``user_pseudo_id`` (consent mode's cookieless pings) cannot be sessionised: they are
  quarantined (``raw_quarantine.quarantined_rows``, with file and line) and counted, never dropped.
- A file that is not valid JSON stops the load naming file and line; an export whose events lack a
  column (``event_timestamp``, ``event_name``, ``user_pseudo_id``, ``event_params``) stops it naming the
  field; new columns are kept in ``landing_api.ga4__<table>``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.live.common import (
    CredentialsError,
    LiveLoad,
    LiveSourceError,
    Pulled,
    SchemaDriftError,
    env_required,
    incremental_window,
    store,
)
from ingestion.raw_merge import ensure_audit_tables
from ingestion.warehouse import connect as connect_warehouse

SOURCE, SCHEMA = "ga4", "raw_web"
DIR_VAR = "SMARKETING_GA4_EXPORT_DIR"
FILE = re.compile(r"^events_(\d{8})(?:_\d+)?\.(json|jsonl|ndjson|json\.gz|jsonl\.gz|parquet)$")
REQUIRED_COLUMNS = ("event_date", "event_timestamp", "event_name", "user_pseudo_id", "event_params")
TABLE_OF_EVENT = {"page_view": "page_views", "form_submit": "form_submissions"}  # other events: sessions
KNOWN = {"event_date", "event_timestamp", "event_name", "event_params", "user_pseudo_id", "device.category",
         "geo.country", "privacy_info.ads_storage", "batch_event_index", "_file", "_line"}  # fmt: skip
COUNTRIES = {  # GA4 exports country names; the raw contract wants ISO codes (unknown names are kept)
    "Spain": "ES", "Portugal": "PT", "France": "FR", "Germany": "DE", "Italy": "IT", "United Kingdom": "GB",
    "Ireland": "IE", "Netherlands": "NL", "Belgium": "BE", "United States": "US", "Canada": "CA", "Mexico": "MX",
    "Argentina": "AR", "Colombia": "CO", "Chile": "CL", "Peru": "PE", "Brazil": "BR", "Switzerland": "CH",
    "Austria": "AT", "Poland": "PL", "Sweden": "SE", "Denmark": "DK", "Norway": "NO", "Finland": "FI",
}  # fmt: skip


def run(db_path: str | Path, env: Mapping[str, str], today: dt.date) -> dict[str, LiveLoad]:
    folder = Path(env_required(env, DIR_VAR, "the folder holding the GA4 BigQuery export files events_YYYYMMDD.*"))
    if not folder.is_dir():
        raise CredentialsError(f"{DIR_VAR}={folder}: no such folder (GA4 BigQuery export files events_YYYYMMDD.*)")
    lookback = int(env.get("SMARKETING_GA4_LOOKBACK_DAYS", "3"))
    initial = int(env.get("SMARKETING_GA4_INITIAL_DAYS", "90"))
    with connect_warehouse(db_path) as con:
        ensure_audit_tables(con)
        window = incremental_window(con, SOURCE, "sessions", today, lookback, initial)
    files = sorted((dt.datetime.strptime(m.group(1), "%Y%m%d").date(), p) for p in folder.iterdir()
                   if (m := FILE.match(p.name)))  # fmt: skip
    context_day = window.start - dt.timedelta(days=1)
    wanted = [(day, p) for day, p in files if context_day <= day <= window.end]
    events = [e for _, p in wanted for e in _read(p)]
    in_window = [e for e in events if _event_day(e) >= window.start]
    cursor = max((day for day, _ in wanted if day >= window.start), default=None)
    after = cursor.isoformat() if cursor else (window.cursor_before or (window.start - dt.timedelta(days=1)).isoformat())
    pulls = _map(events, in_window, len(wanted))
    return {table: store(str(db_path), SOURCE, SCHEMA, table, window, pulled, None, None, [], cursor_after=after)
            for table, pulled in pulls.items()}  # fmt: skip


def _read(path: Path) -> Iterator[dict[str, Any]]:
    if path.suffix == ".parquet":
        try:
            rows = pq.read_table(path).to_pylist()
        except (pa.ArrowException, OSError) as exc:
            raise LiveSourceError(f"ga4: {path.name} is not a readable Parquet file ({exc})") from None
        for line, row in enumerate(rows, start=1):
            yield _checked(row, path, line)
        return
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for line, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    row = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise LiveSourceError(f"ga4: {path.name} line {line} is not valid JSON ({exc.msg}); "
                                          "nothing was loaded") from None  # fmt: skip
                yield _checked(row, path, line)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as exc:
        raise LiveSourceError(f"ga4: {path.name} cannot be read ({exc}); nothing was loaded") from None


def _checked(row: Any, path: Path, line: int) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise LiveSourceError(f"ga4: {path.name} line {line} is not an event object; nothing was loaded")
    for column in REQUIRED_COLUMNS:
        if column not in row:
            # the raw table the event makes a row in; an event without a (known) name still feeds sessions
            table = TABLE_OF_EVENT.get(row.get("event_name"), "sessions")
            raise SchemaDriftError(f"ga4: required field {column!r} missing in {SCHEMA}.{table} ({path.name} line "
                                   f"{line}); the export's schema changed. Nothing was loaded.")  # fmt: skip
    row["_file"], row["_line"] = path.name, line
    return row


def _param(event: dict[str, Any], key: str) -> Any:
    for param in event.get("event_params") or []:
        if param.get("key") == key:
            value = param.get("value") or {}
            for kind in ("string_value", "int_value", "double_value", "float_value"):
                if value.get(kind) is not None:
                    return value[kind]
    return None


def _event_day(event: dict[str, Any]) -> dt.date:
    return dt.datetime.strptime(str(event["event_date"]), "%Y%m%d").date()


def _at(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(event["event_timestamp"]))


def _session_id(event: dict[str, Any]) -> str | None:
    ga_session = _param(event, "ga_session_id")
    return f"{event['user_pseudo_id']}.{ga_session}" if event.get("user_pseudo_id") and ga_session else None


def _event_id(event: dict[str, Any]) -> str:
    return f"{event['user_pseudo_id']}.{event['event_timestamp']}.{event.get('batch_event_index') or 0}"


def _map(events: list[dict[str, Any]], in_window: list[dict[str, Any]], files: int) -> dict[str, Pulled]:
    """Rows per raw table; ``pages`` counts the export files read."""
    quarantined: dict[str, list] = {"page_views": [], "form_submissions": [], "sessions": []}
    views, forms, view_rows, form_rows = [], [], [], []
    sessions: dict[str, list[dict[str, Any]]] = {}
    for event in in_window:
        table = TABLE_OF_EVENT.get(event["event_name"], "sessions")
        session = _session_id(event)
        if session is None:
            reason = ("cookieless ping (consent denied): no user_pseudo_id" if not event.get("user_pseudo_id")
                      else "event without the ga_session_id parameter")  # fmt: skip
            field = "user_pseudo_id" if not event.get("user_pseudo_id") else "event_params.ga_session_id"
            quarantined[table].append((event["_file"], event["_line"], field, reason, event))
            continue
        sessions.setdefault(session, [])
        if table == "page_views":
            views.append(event)
            view_rows.append({"page_view_id": _event_id(event), "session_id": session,
                              "anonymous_id": event["user_pseudo_id"], "viewed_at": _at(event),
                              "page_url": _param(event, "page_location"), "page_title": _param(event, "page_title")})  # fmt: skip
        elif table == "form_submissions":
            forms.append(event)
            consent = (event.get("privacy_info") or {}).get("ads_storage")
            form_rows.append({"submission_id": _event_id(event), "session_id": session,
                              "anonymous_id": event["user_pseudo_id"], "submitted_at": _at(event),
                              "form_name": _param(event, "form_name") or _param(event, "form_id"),
                              "page_url": _param(event, "page_location"), "email": None, "phone": None,
                              "first_name": None, "last_name": None, "company_name": None,
                              "consent_marketing": {"Yes": True, "No": False}.get(consent)})  # fmt: skip
    for event in events:  # every event of a session seen in the window, the day before included
        session = _session_id(event)
        if session in sessions:
            sessions[session].append(event)
    session_records, session_rows = [], []
    for session, members in sessions.items():
        members.sort(key=lambda e: (int(e["event_timestamp"]), e.get("batch_event_index") or 0))
        first_page = next((e for e in members if _param(e, "page_location")), members[0])
        country = (members[0].get("geo") or {}).get("country")
        session_records.append({"session_id": session, "events": len(members),
                                "files": sorted({e["_file"] for e in members})})  # fmt: skip
        session_rows.append({
            "session_id": session, "anonymous_id": members[0]["user_pseudo_id"],
            "session_started_at": _at(members[0]), "session_ended_at": _at(members[-1]),
            "landing_page_url": _param(first_page, "page_location"), "referrer_url": _param(first_page, "page_referrer"),
            "device_category": (members[0].get("device") or {}).get("category"),
            "geo_country": COUNTRIES.get(country, country) if country else None,
            "page_view_count": sum(e["event_name"] == "page_view" for e in members),
        })  # fmt: skip
    # sessions' records are summaries; other events in the window that made no row are quarantined above
    return {
        "sessions": Pulled(session_records, session_rows, files,
                           {"session_id", "events", "files"}, quarantined=quarantined["sessions"]),
        "page_views": Pulled(views, view_rows, files, KNOWN, quarantined=quarantined["page_views"]),
        "form_submissions": Pulled(forms, form_rows, files, KNOWN, quarantined=quarantined["form_submissions"]),
    }
