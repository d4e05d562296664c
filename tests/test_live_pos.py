"""POS live mode against a real PostgreSQL: a throwaway database with a sales table."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal

import duckdb
import psycopg
import pytest

from ingestion.live import run_connector
from ingestion.live.common import CredentialsError, LiveSourceError, SchemaDriftError

NOW = dt.datetime(2026, 11, 10, 12, 0)
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def pos_db():
    name = f"smarketing_pos_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("""create table public.pos_sales (
            ticket_no text primary key, store_id text, store_name text, store_country text,
            sold_at timestamp, amount numeric(12, 2), currency_code text, customer_email text,
            customer_phone text, loyalty_id text, updated_at timestamptz not null)""")
    try:
        yield dsn
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


def _sale(con, n: int, updated: dt.datetime, amount: str = "19.90", email: str | None = "Ana@Example.ES ",
          store: str | None = "S1") -> None:  # fmt: skip
    con.execute("insert into public.pos_sales values (%s, %s, 'Bilbao Centro', 'ES', %s, %s, 'EUR', %s, "
                "'+34 600 000 001', null, %s) on conflict (ticket_no) do update set amount = excluded.amount, "
                "updated_at = excluded.updated_at",
                [f"T{n:04d}", store, dt.datetime(2026, 11, 1, 10) + dt.timedelta(hours=n), amount, email,
                 updated.replace(tzinfo=dt.UTC)])  # fmt: skip


def _env(dsn: str, now: dt.datetime = NOW, **extra: str) -> dict[str, str]:
    return {"SMARKETING_POS_DSN": dsn, "SMARKETING_POS_COLUMNS": "transaction_id=ticket_no,purchased_at=sold_at",
            "SMARKETING_POS_TIME_ZONE": "Europe/Madrid", "SMARKETING_POS_BATCH_SIZE": "3",
            "SMARKETING_LIVE_NOW": now.isoformat(), "SMARKETING_HTTP_MAX_ATTEMPTS": "2",
            "SMARKETING_HTTP_BACKOFF_FACTOR": "0.05", **extra}  # fmt: skip


def _rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_loads_in_batches_hashes_personal_data_and_converts_to_utc(tmp_path, pos_db):
    db = tmp_path / "w.duckdb"
    with psycopg.connect(pos_db, autocommit=True) as con:
        for n in range(1, 8):
            _sale(con, n, NOW - dt.timedelta(hours=10 - n), amount=f"{n}0.55")
    report = run_connector("raw_store", db, _env(pos_db))["purchases"]
    assert (report.records_fetched, report.rows_loaded, report.pages) == (7, 7, 3)  # batches of 3
    assert _rows(db, "select count(*), sum(amount) from raw_store.purchases") == [(7, Decimal("283.85"))]
    email = hashlib.sha256(b"ana@example.es").hexdigest()
    phone = hashlib.sha256(b"+34600000001").hexdigest()
    # 1 Nov 11:00 in Madrid (UTC+1) is 10:00 UTC
    assert _rows(db, "select purchased_at, customer_email_sha256, customer_phone_sha256 from raw_store.purchases "
                     "where transaction_id = 'T0001'") == [(dt.datetime(2026, 11, 1, 10), email, phone)]
    with duckdb.connect(str(db), read_only=True) as con:
        landed = " ".join(r[0] for r in con.execute("select cast(record as varchar) from landing_api.pos__purchases").fetchall())
    assert "Example" not in landed and "600 000" not in landed  # the till's personal data stays in the POS
    assert report.cursor_after == (NOW - dt.timedelta(hours=3)).replace(tzinfo=dt.UTC).isoformat()


def test_incremental_cursor_with_lookback_and_corrections(tmp_path, pos_db):
    db = tmp_path / "w.duckdb"
    with psycopg.connect(pos_db, autocommit=True) as con:
        for n in range(1, 6):
            _sale(con, n, NOW - dt.timedelta(hours=10 - n))
        run_connector("raw_store", db, _env(pos_db))
        # a refund corrects T0005; a late-committed sale carries a time 30 min before the cursor; T0001 untouched
        _sale(con, 5, NOW + dt.timedelta(hours=1), amount="-5.00")
        _sale(con, 6, NOW - dt.timedelta(hours=5, minutes=30))
        _sale(con, 7, NOW - dt.timedelta(hours=20))  # older than the look-back: not asked for
    report = run_connector("raw_store", db, _env(pos_db, NOW + dt.timedelta(hours=2)))["purchases"]
    assert report.cursor_before == (NOW - dt.timedelta(hours=5)).replace(tzinfo=dt.UTC).isoformat()
    assert report.records_fetched == 3  # T0004 (at the look-back edge), T0006 (late commit) and T0005
    assert _rows(db, "select transaction_id, amount from raw_store.purchases order by 1") == [
        ("T0001", Decimal("19.90")), ("T0002", Decimal("19.90")), ("T0003", Decimal("19.90")),
        ("T0004", Decimal("19.90")), ("T0005", Decimal("-5.00")), ("T0006", Decimal("19.90"))]
    again = run_connector("raw_store", db, _env(pos_db, NOW + dt.timedelta(hours=3)))["purchases"]
    assert again.records_fetched == 1 and _rows(db, "select count(*) from raw_store.purchases") == [(6,)]


def test_bad_login_unreachable_server_and_missing_table(tmp_path, pos_db):
    db = tmp_path / "w.duckdb"
    bad_role = pos_db.replace("postgres@", "nobody_here@")
    with pytest.raises(CredentialsError, match="refused the login; check SMARKETING_POS_DSN") as info:
        run_connector("raw_store", db, _env(bad_role))
    assert "nobody_here" not in str(info.value)
    with pytest.raises(CredentialsError, match="database named in SMARKETING_POS_DSN does not exist"):
        run_connector("raw_store", db, _env(pos_db.rsplit("/", 1)[0] + "/no_such_db"))
    with pytest.raises(LiveSourceError, match="cannot reach the POS database after 2 attempts"):
        run_connector("raw_store", db, _env("postgresql://postgres@127.0.0.1:1/x"))
    with pytest.raises(LiveSourceError, match="table public.tickets does not exist"):
        run_connector("raw_store", db, _env(pos_db, SMARKETING_POS_TABLE="public.tickets"))
    with pytest.raises(CredentialsError, match="SMARKETING_POS_DSN is not set"):
        run_connector("raw_store", db, {})


def test_empty_table_then_drift(tmp_path, pos_db):
    db = tmp_path / "w.duckdb"
    report = run_connector("raw_store", db, _env(pos_db))["purchases"]
    assert (report.records_fetched, report.rows_loaded) == (0, 0)
    with psycopg.connect(pos_db, autocommit=True) as con:
        _sale(con, 1, NOW)
        con.execute("alter table public.pos_sales add column basket_size int default 3")
        added = run_connector("raw_store", db, _env(pos_db))["purchases"]
        assert added.new_fields == ["basket_size"]
        _sale(con, 2, NOW + dt.timedelta(hours=1), store=None)
        with pytest.raises(SchemaDriftError, match=r"pos: required field 'store_id' missing in raw_store.purchases \(record 2"):
            run_connector("raw_store", db, _env(pos_db, NOW + dt.timedelta(hours=2)))
        con.execute("alter table public.pos_sales rename column amount to total")
        with pytest.raises(SchemaDriftError, match="pos: required field 'amount' missing in raw_store.purchases .no column 'amount'"):
            run_connector("raw_store", db, _env(pos_db, NOW + dt.timedelta(hours=2)))
    assert _rows(db, "select count(*) from raw_store.purchases") == [(1,)]
