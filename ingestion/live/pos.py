"""Store sales from the point-of-sale database (PostgreSQL): the sales table read incrementally on its
updated-at (or transaction time) column into ``raw_store.purchases``.

``SMARKETING_POS_DSN`` (``postgresql://reader:***@pos-db:5432/pos``; a read-only role is enough) names the
database, ``SMARKETING_POS_TABLE`` the table or view (default ``public.pos_sales``) and
``SMARKETING_POS_CURSOR_COLUMN`` the column the cursor is on (default ``updated_at``). Columns named like
the contract's (``ingestion/raw_schema.py``) are taken as they are; others are renamed with
``SMARKETING_POS_COLUMNS`` (``transaction_id=ticket_no,purchased_at=sold_at``). A plain ``customer_email``
or ``customer_phone`` column is hashed on the way in (the contract's SHA-256 of the normalised value), so the
warehouse never holds the till's personal data.

Each run reads rows whose cursor column is at or after the stored cursor minus
``SMARKETING_POS_LOOKBACK_MINUTES`` (default 60: a transaction committed late can carry an earlier
timestamp), in batches through a server-side cursor, and merges them on ``transaction_id``. Naive
timestamps are read in ``SMARKETING_POS_TIME_ZONE`` (default UTC) and stored as UTC. A refused login fails at
once naming ``SMARKETING_POS_DSN``; an unreachable server is retried with backoff; a required column
missing from the table stops the load naming it; new columns are kept in ``landing_api.pos__purchases``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from ingestion.live.common import (
    CredentialsError,
    LiveLoad,
    LiveSourceError,
    Pulled,
    SchemaDriftError,
    Window,
    check_required,
    env_required,
    store,
)
from ingestion.raw_merge import CURSOR_TABLE, ensure_audit_tables
from ingestion.raw_schema import RAW_TABLES
from ingestion.warehouse import connect as connect_warehouse

SOURCE, SCHEMA, TABLE = "pos", "raw_store", "purchases"
DSN_VAR = "SMARKETING_POS_DSN"
REQUIRED = ("transaction_id", "store_id", "purchased_at", "amount")
TIMESTAMPTZ_OID = 1184
HASHED = {"customer_email": "customer_email_sha256", "customer_phone": "customer_phone_sha256"}


@dataclass(frozen=True)
class Config:
    dsn: str
    table: tuple[str, ...]
    cursor_column: str
    columns: dict[str, str]  # contract column -> source column
    lookback: dt.timedelta
    initial_days: int
    time_zone: ZoneInfo
    batch_size: int
    attempts: int
    backoff: float


def config(env: Mapping[str, str]) -> Config:
    renames: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in env.get("SMARKETING_POS_COLUMNS", "").split(","))):
        target, _, column = pair.partition("=")
        if target.strip() not in RAW_TABLES[SCHEMA][TABLE] and target.strip() not in HASHED:
            raise LiveSourceError(f"SMARKETING_POS_COLUMNS: {target.strip()!r} is not a raw_store.purchases column")
        renames[target.strip()] = column.strip()
    return Config(
        dsn=env_required(env, DSN_VAR, "the POS database, postgresql://user:password@host:5432/db"),
        table=tuple(env.get("SMARKETING_POS_TABLE", "public.pos_sales").split(".")),
        cursor_column=env.get("SMARKETING_POS_CURSOR_COLUMN", "updated_at"), columns=renames,
        lookback=dt.timedelta(minutes=float(env.get("SMARKETING_POS_LOOKBACK_MINUTES", "60"))),
        initial_days=int(env.get("SMARKETING_POS_INITIAL_DAYS", "3650")),
        time_zone=ZoneInfo(env.get("SMARKETING_POS_TIME_ZONE", "UTC")),
        batch_size=int(env.get("SMARKETING_POS_BATCH_SIZE", "5000")),
        attempts=int(env.get("SMARKETING_HTTP_MAX_ATTEMPTS", "5")),
        backoff=float(env.get("SMARKETING_HTTP_BACKOFF_FACTOR", "1")),
    )  # fmt: skip


def _connect(cfg: Config) -> psycopg.Connection:
    for attempt in range(1, cfg.attempts + 1):
        try:
            return psycopg.connect(cfg.dsn, connect_timeout=10, autocommit=False)
        except psycopg.OperationalError as exc:
            state = getattr(exc, "sqlstate", None) or ""
            text = str(exc)
            if state.startswith("28") or "authentication failed" in text or "role" in text and "does not exist" in text:
                raise CredentialsError(f"pos: the database refused the login; check {DSN_VAR}") from None
            if state == "3D000" or "database" in text and "does not exist" in text:
                raise CredentialsError(f"pos: the database named in {DSN_VAR} does not exist") from None
            if attempt == cfg.attempts:
                raise LiveSourceError(f"pos: cannot reach the POS database after {attempt} attempts "
                                      f"(check {DSN_VAR} host and port)") from None  # fmt: skip
            time.sleep(cfg.backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def run(db_path: str | Path, env: Mapping[str, str], now: dt.datetime) -> dict[str, LiveLoad]:
    cfg = config(env)
    with connect_warehouse(db_path) as con:
        ensure_audit_tables(con)
        row = con.execute(f"select cursor_value from {CURSOR_TABLE} where source = ? and resource = ?",
                          [SOURCE, TABLE]).fetchone()  # fmt: skip
    before = row[0] if row else None
    since: dt.datetime = (dt.datetime.fromisoformat(before) - cfg.lookback if before
                          else (now - dt.timedelta(days=cfg.initial_days)).replace(tzinfo=dt.UTC))  # fmt: skip
    relation = sql.SQL(".").join(sql.Identifier(p) for p in cfg.table)
    name = ".".join(cfg.table)
    records: list[dict[str, Any]] = []
    batches = 0
    with _connect(cfg) as pg:
        try:
            with pg.cursor() as probe:
                probe.execute(sql.SQL("select * from {} limit 0").format(relation))
                available = [d.name for d in probe.description]
                aware = {d.name: d.type_code for d in probe.description}.get(cfg.cursor_column) == TIMESTAMPTZ_OID
        except psycopg.errors.UndefinedTable:
            raise LiveSourceError(f"pos: table {name} does not exist (SMARKETING_POS_TABLE)") from None
        except psycopg.errors.InsufficientPrivilege:
            raise CredentialsError(f"pos: the role in {DSN_VAR} may not read {name}") from None
        pg.rollback()
        source_of = _source_columns(cfg, available, name)
        if cfg.cursor_column not in available:
            raise SchemaDriftError(f"pos: required field {cfg.cursor_column!r} (the cursor column) missing in "
                                   f"{SCHEMA}.{TABLE} source {name}. Nothing was loaded.")  # fmt: skip
        query = sql.SQL("select * from {} where {} >= %s order by {}, {}").format(
            relation, sql.Identifier(cfg.cursor_column), sql.Identifier(cfg.cursor_column),
            sql.Identifier(source_of["transaction_id"]))  # fmt: skip
        bound = since if aware else _naive_local(since, cfg.time_zone)
        with pg.cursor(name="smarketing_pos", row_factory=dict_row) as cursor:
            cursor.itersize = cfg.batch_size
            cursor.execute(query, [bound])
            while batch := cursor.fetchmany(cfg.batch_size):
                batches += 1
                records.extend(batch)
    rows = [_row(r, source_of, cfg.time_zone) for r in records]
    check_required("pos", SCHEMA, TABLE, rows, REQUIRED)
    stamps = [r[cfg.cursor_column] for r in records if r[cfg.cursor_column] is not None]
    after = _cursor_text(max(stamps), cfg.time_zone) if stamps else (before or since.isoformat())
    personal = {source_of[c] for c in HASHED if c in source_of}  # never leaves the POS database in clear
    landed = [{k: _plain(v) for k, v in r.items() if k not in personal} for r in records]
    known = set(source_of.values()) | {cfg.cursor_column}
    pulled = Pulled(landed, rows, batches, known)
    return {TABLE: store(str(db_path), SOURCE, SCHEMA, TABLE, Window(since, now, before), pulled, None, None, [],
                         cursor_after=after)}  # fmt: skip


def _source_columns(cfg: Config, available: list[str], name: str) -> dict[str, str]:
    """Contract column (or customer_email/customer_phone) -> source column; required ones must exist."""
    source_of: dict[str, str] = {}
    for column in [*RAW_TABLES[SCHEMA][TABLE], *HASHED]:
        candidate = cfg.columns.get(column, column)
        if candidate in available:
            source_of[column] = candidate
        elif column in REQUIRED:
            raise SchemaDriftError(f"pos: required field {column!r} missing in {SCHEMA}.{TABLE} (no column "
                                   f"{candidate!r} in {name}; map it with SMARKETING_POS_COLUMNS). Nothing was loaded.")
    return source_of


def _naive_local(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    return at.astimezone(zone).replace(tzinfo=None) if at.tzinfo else at


def _utc(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=zone)
        return aware.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _cursor_text(value: Any, zone: ZoneInfo) -> str:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


def _sha256(value: str | None, phone: bool = False) -> str | None:
    if value is None or not str(value).strip():
        return None
    text = ("+" + re.sub(r"\D", "", str(value))) if phone else str(value).strip().lower()
    return hashlib.sha256(text.encode()).hexdigest()


def _row(record: dict[str, Any], source_of: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    row = {c: _utc(record.get(source_of[c]), zone) if c in source_of else None for c in RAW_TABLES[SCHEMA][TABLE]}
    if row["customer_email_sha256"] is None and "customer_email" in source_of:
        row["customer_email_sha256"] = _sha256(record.get(source_of["customer_email"]))
    if row["customer_phone_sha256"] is None and "customer_phone" in source_of:
        row["customer_phone_sha256"] = _sha256(record.get(source_of["customer_phone"]), phone=True)
    return row
