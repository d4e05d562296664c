"""What every live connector shares: credentials from the environment, an HTTP client with retries,
the incremental window with look-back, drift checks and the load into the raw contract.

HTTP goes through dlt's ``RESTClient`` (paginators) on dlt's retrying session: 429 (honouring
``Retry-After``), 5xx, timeouts and dropped connections are retried with exponential backoff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
from dlt.sources.helpers.requests.retry import Client
from dlt.sources.helpers.rest_client import RESTClient
from pydantic import BaseModel
from requests import HTTPError
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import JSONDecodeError, Timeout

from ingestion.files.transform import _arrow_type
from ingestion.raw_merge import CURSOR_TABLE, QUARANTINE_TABLE, ensure_audit_tables, ident, merge_rows
from ingestion.raw_schema import RAW_TABLES
from ingestion.sources import PRIMARY_KEYS
from ingestion.warehouse import connect as connect_warehouse

LANDING_SCHEMA = "landing_api"  # every API record as received (JSON): new fields are kept here


class LiveSourceError(RuntimeError):
    """A live pull failed; the message names the source and what to fix. Nothing was loaded."""


class CredentialsError(LiveSourceError):
    """Missing or rejected credentials: names the environment variable to fix."""


class SchemaDriftError(LiveSourceError):
    """A required field is missing from the API's records: names source, table and field."""


def env_required(env: Mapping[str, str], name: str, purpose: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise CredentialsError(f"{name} is not set: {purpose}. See .env.example.")
    return value


def env_list(env: Mapping[str, str], name: str, purpose: str) -> list[str]:
    return [v.strip() for v in env_required(env, name, purpose).split(",") if v.strip()]


def http_client(base_url: str, env: Mapping[str, str], headers: dict[str, str] | None = None,
                auth: Any = None) -> RESTClient:  # fmt: skip
    session = Client(
        raise_for_status=False,
        request_timeout=float(env.get("SMARKETING_HTTP_TIMEOUT_SECONDS", "30")),
        request_max_attempts=int(env.get("SMARKETING_HTTP_MAX_ATTEMPTS", "5")),
        request_backoff_factor=float(env.get("SMARKETING_HTTP_BACKOFF_FACTOR", "1")),
        request_max_retry_delay=float(env.get("SMARKETING_HTTP_MAX_RETRY_DELAY_SECONDS", "120")),
    ).session
    return RESTClient(base_url=base_url.rstrip("/"), headers=headers, auth=auth, session=session)


def pages(source: str, token_var: str, fetch: Callable[[], Iterable[Any]]) -> Iterator[Any]:
    """Iterate a paginated call, turning HTTP failures into messages a person can act on."""
    try:
        yield from fetch()
    except HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        body = exc.response.text[:2000] if exc.response is not None else ""
        if status == 403 and "REQUEST_LIMIT_EXCEEDED" in body:
            raise LiveSourceError(f"{source}: the API's request limit is exhausted (HTTP 403 REQUEST_LIMIT_EXCEEDED); "
                                  "retry after the limit resets") from None
        if status in (401, 403):
            raise CredentialsError(
                f"{source}: the API refused the credentials (HTTP {status}); check {token_var}"
            ) from None
        path = urlsplit(exc.request.url).path if exc.request is not None and exc.request.url else "?"
        raise LiveSourceError(f"{source}: HTTP {status} from {path} after retries") from None
    except JSONDecodeError as exc:
        raise LiveSourceError(f"{source}: malformed response body (not JSON): {exc}") from None
    except Timeout as exc:  # before ConnectionError: requests' ConnectTimeout is both
        where = urlsplit(exc.request.url) if exc.request is not None and exc.request.url else None
        raise LiveSourceError(
            f"{source}: {where.netloc if where else '?'} did not answer {where.path if where else ''} within "
            f"SMARKETING_HTTP_TIMEOUT_SECONDS on any of the SMARKETING_HTTP_MAX_ATTEMPTS attempts "
            f"({type(exc).__name__}); nothing was loaded"
        ) from None
    except RequestsConnectionError as exc:
        host = urlsplit(exc.request.url).netloc if exc.request is not None and exc.request.url else "?"
        raise LiveSourceError(f"{source}: cannot reach {host} after retries ({type(exc).__name__})") from None


@dataclass
class Window:
    start: Any  # dt.date for daily reports, dt.datetime for updated-at cursors
    end: Any
    cursor_before: str | None


def parse_utc(text: str) -> dt.datetime:
    """An API timestamp (ISO 8601, 'Z' or offset, or epoch milliseconds) as naive UTC."""
    if text.isdigit():
        return dt.datetime.fromtimestamp(int(text) / 1000, dt.UTC).replace(tzinfo=None)
    parsed = dt.datetime.fromisoformat(text)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def incremental_window(con: duckdb.DuckDBPyConnection, source: str, resource: str, today: dt.date,
                       lookback_days: int, initial_days: int) -> Window:  # fmt: skip
    """From the stored cursor minus the look-back (ad platforms restate recent days) to today."""
    row = con.execute(f"select cursor_value from {CURSOR_TABLE} where source = ? and resource = ?",
                      [source, resource]).fetchone()  # fmt: skip
    if row is None:
        return Window(today - dt.timedelta(days=initial_days - 1), today, None)
    cursor = dt.date.fromisoformat(row[0])
    return Window(min(cursor - dt.timedelta(days=lookback_days), today), today, row[0])


def pick(record: Mapping[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def leaf_paths(record: Mapping[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            paths |= leaf_paths(value, path + ".")
        else:
            paths.add(path)
    return paths


class LiveLoad(BaseModel):
    source: str
    table: str
    window_start: str
    window_end: str
    cursor_before: str | None
    cursor_after: str
    pages: int
    records_fetched: int
    rows_loaded: int
    rows_in_window_replaced: int
    new_fields: list[str]
    rows_removed: int = 0  # records the source deleted (or converted away): their rows left the raw table
    rows_quarantined: int = 0  # records that cannot make a row, kept in raw_quarantine.quarantined_rows

    def metadata(self) -> dict[str, Any]:
        return {
            "mode": "live",
            "window": f"{self.window_start}..{self.window_end}",
            "cursor_before": self.cursor_before or "",
            "cursor_after": self.cursor_after,
            "pages": self.pages,
            "rows_in": self.records_fetched,
            "rows_loaded": self.rows_loaded,
            "rows_removed": self.rows_removed,
            "rows_quarantined": self.rows_quarantined,
            "reconciled": self.records_fetched == self.rows_loaded + self.rows_removed + self.rows_quarantined,
            "new_fields_kept_in_landing_api": self.new_fields,
        }


@dataclass
class Pulled:
    """A connector's answer for one raw table: API records and their contract rows, one to one."""

    records: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    pages: int
    known_fields: set[str] = field(default_factory=set)
    # Records that say a row is gone (deleted in the source, or a lead converted into a contact): landed as
    # received, and the raw rows with these keys (the table's single-column key) are deleted.
    removed: list[dict[str, Any]] = field(default_factory=list)
    removed_keys: list[str] = field(default_factory=list)
    # Records that cannot make a row: (where: file and line or request, field, reason, record).
    quarantined: list[tuple[str, int | None, str, str, dict[str, Any]]] = field(default_factory=list)


def check_required(source: str, schema: str, table: str, rows: list[dict[str, Any]],
                   required: Iterable[str]) -> None:  # fmt: skip
    for number, row in enumerate(rows, start=1):
        for column in required:
            if row.get(column) in (None, ""):
                raise SchemaDriftError(
                    f"{source}: required field {column!r} missing in {schema}.{table} (record {number} of "
                    f"the response); the API's schema changed or the query is wrong. Nothing was loaded."
                )


def store(db_path: str, source: str, schema: str, table: str, window: Window, pulled: Pulled,
          window_column: str | None, account_column: str | None, accounts: list[str],
          cursor_after: str | None = None) -> LiveLoad:  # fmt: skip
    """Land the records (JSON), replace the window's rows of these accounts (date-windowed reports) or
    upsert on the key (updated-at cursors), move the cursor: one commit."""
    cursor_after = cursor_after or window.end.isoformat()
    contract = RAW_TABLES[schema][table]
    arrow = pa.table({c: pa.array([_coerce(r.get(c), t) for r in pulled.rows], type=_arrow_type(t))
                      for c, t in contract.items()})  # fmt: skip
    landed = pulled.records + pulled.removed + [q[4] for q in pulled.quarantined]
    content = json.dumps(landed, sort_keys=True, default=str).encode()
    batch_id = hashlib.sha256(f"{source}|{window.start}|{window.end}|".encode() + content).hexdigest()[:16]
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    new_fields = sorted({p for r in landed for p in leaf_paths(r)} - pulled.known_fields)
    label = f"api:{source}:{window.start}..{window.end}"
    con = connect_warehouse(db_path)
    try:
        con.execute("begin transaction")
        try:
            ensure_audit_tables(con)
            landing = f"{LANDING_SCHEMA}.{ident(f'{source}__{table}')}"
            con.execute(f"create schema if not exists {LANDING_SCHEMA}")
            con.execute(f"create table if not exists {landing} (_batch_id varchar, _loaded_at timestamp, "
                        f"_source varchar, record json)")  # fmt: skip
            con.register("_records", pa.table({"record": [json.dumps(r, default=str) for r in landed]},
                                              schema=pa.schema([("record", pa.string())])))
            con.execute(f"insert into {landing} select ?, ?, ?, cast(record as json) from _records",
                        [batch_id, loaded_at, label])  # fmt: skip
            con.unregister("_records")
            from ingestion.raw_merge import ensure_raw_table

            ensure_raw_table(con, schema, table)
            target = f"{ident(schema)}.{ident(table)}"
            replaced = 0
            if window_column is not None:
                placeholders = ", ".join("?" for _ in accounts)
                where = (f"cast({ident(window_column)} as date) between ? and ? "
                         f"and {ident(account_column)} in ({placeholders})")  # fmt: skip
                replaced = con.execute(f"select count(*) from {target} where {where}",
                                       [window.start, window.end, *accounts]).fetchone()[0]  # fmt: skip
                con.execute(f"delete from {target} where {where}", [window.start, window.end, *accounts])
            if pulled.removed_keys:
                (key,) = PRIMARY_KEYS[schema][table]
                con.register("_removed", pa.table({"k": pa.array(sorted(set(pulled.removed_keys)), pa.string())}))
                con.execute(f"delete from {target} where {ident(key)} in (select k from _removed)")
                con.unregister("_removed")
            for where, line, column, reason, record in pulled.quarantined:
                con.execute(f"insert into {QUARANTINE_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [batch_id, source, f"{schema}.{table}", where, line, column, None, reason,
                             json.dumps(record, default=str), loaded_at])  # fmt: skip
            written = merge_rows(con, schema, table, arrow, batch_id, loaded_at, label)
            if written != len(pulled.records):
                raise LiveSourceError(f"{source}: fetched {len(pulled.records)} records but wrote {written} rows")
            con.execute(f"insert or replace into {CURSOR_TABLE} values (?, ?, ?, ?)",
                        [source, table, cursor_after, loaded_at])  # fmt: skip
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.close()
    return LiveLoad(
        source=source, table=table, window_start=str(window.start), window_end=str(window.end),
        cursor_before=window.cursor_before, cursor_after=cursor_after, pages=pulled.pages,
        records_fetched=len(landed), rows_loaded=written, rows_in_window_replaced=int(replaced),
        new_fields=new_fields, rows_removed=len(pulled.removed), rows_quarantined=len(pulled.quarantined),
    )  # fmt: skip


def _coerce(value: Any, sql_type: str) -> Any:
    if value is None or value == "":
        return None
    try:
        if sql_type in ("BIGINT", "INTEGER"):
            return int(float(value)) if isinstance(value, str) and "." in value else int(value)
        if sql_type == "DOUBLE":
            return float(value)
        if sql_type == "TIMESTAMP":
            return value if isinstance(value, dt.datetime) else parse_utc(str(value))
        if sql_type == "DATE":
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if sql_type.startswith("DECIMAL"):
            from decimal import Decimal

            return Decimal(str(value)).quantize(Decimal("0.01"))
    except (ValueError, ArithmeticError) as exc:
        raise LiveSourceError(f"value {value!r} is not a valid {sql_type}: {exc}") from None
    return str(value) if sql_type == "VARCHAR" else value


def live_today(env: Mapping[str, str]) -> dt.date:
    override = env.get("SMARKETING_LIVE_END_DATE")
    return dt.date.fromisoformat(override) if override else dt.datetime.now(dt.UTC).date()


def environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


@dataclass(frozen=True)
class Connector:
    """One API report feeding one raw table."""

    source: str
    schema: str
    table: str
    window_column: str  # the day column the incremental window is on
    account_column: str
    required: tuple[str, ...]  # contract columns a record must carry; else SchemaDriftError
    config: Callable[[Mapping[str, str]], Any]
    fetch: Callable[[Any, Window, Mapping[str, str]], Pulled]
    accounts: Callable[[Any], list[str]]
    lookback_days: int = 7
