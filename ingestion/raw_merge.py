"""Merge rows into a raw table on its natural key, plus the ingestion audit tables.

File drops and live pulls add to what is there: a row whose key is already loaded is replaced (the
latest export or the restated day wins), other rows stay. The caller owns the transaction, so a file's
rows, its quarantined rows and its ledger entry commit together or not at all.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from ingestion.raw_schema import LOAD_METADATA, RAW_TABLES
from ingestion.sources import PRIMARY_KEYS
from ingestion.warehouse import connect as connect_warehouse

AUDIT_SCHEMA = "raw_quarantine"
QUARANTINE_TABLE = f"{AUDIT_SCHEMA}.quarantined_rows"
LEDGER_TABLE = f"{AUDIT_SCHEMA}.file_loads"
CURSOR_TABLE = f"{AUDIT_SCHEMA}.api_cursors"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def ensure_raw_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    columns = {**RAW_TABLES[schema][table], **LOAD_METADATA}
    con.execute(f"create schema if not exists {ident(schema)}")
    ddl = ", ".join(f"{ident(c)} {t}" for c, t in columns.items())
    con.execute(f"create table if not exists {ident(schema)}.{ident(table)} ({ddl})")


def ensure_audit_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    con.execute(
        f"""create table if not exists {QUARANTINE_TABLE} (
            batch_id varchar, source varchar, table_name varchar, file varchar, line bigint,
            field varchar, value varchar, reason varchar, record varchar, quarantined_at timestamp)"""
    )
    con.execute(
        f"""create table if not exists {LEDGER_TABLE} (
            checksum varchar primary key, source varchar, table_name varchar, file varchar,
            rows_in bigint, rows_loaded bigint, rows_quarantined bigint, encoding varchar,
            delimiter varchar, loaded_at timestamp)"""
    )
    con.execute(
        f"""create table if not exists {CURSOR_TABLE} (
            source varchar, resource varchar, cursor_value varchar, updated_at timestamp,
            primary key (source, resource))"""
    )


def merge_rows(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    rows: pa.Table,
    batch_id: str,
    loaded_at: dt.datetime,
    source_label: str,
) -> int:
    """Upsert ``rows`` (contract columns, contract order) into ``schema.table``; returns rows written."""
    ensure_raw_table(con, schema, table)
    target = f"{ident(schema)}.{ident(table)}"
    contract = RAW_TABLES[schema][table]
    keys = PRIMARY_KEYS[schema][table]
    con.register("_incoming", rows)
    try:
        casts = ", ".join(f"cast({ident(c)} as {t}) as {ident(c)}" for c, t in contract.items())
        con.execute(f"create or replace temp table _incoming_cast as select {casts} from _incoming")
        match = " and ".join(f"t.{ident(k)} is not distinct from i.{ident(k)}" for k in keys)
        con.execute(f"delete from {target} t where exists (select 1 from _incoming_cast i where {match})")
        metadata = ", ".join(f"cast(? as {t})" for t in LOAD_METADATA.values())
        con.execute(
            f"insert into {target} select *, {metadata} from _incoming_cast",
            [batch_id, loaded_at, source_label],
        )
        written = con.execute("select count(*) from _incoming_cast").fetchone()[0]
        con.execute("drop table _incoming_cast")
    finally:
        con.unregister("_incoming")
    return int(written)


def prepare_source_tables(db_path: str, schema: str) -> dict[str, int]:
    """Before a file or live load: every table of the source exists (dbt reads them all), and rows the
    demo world left there are removed (a source switched from demo to real data must not mix both).
    Returns the demo rows removed per table."""
    removed: dict[str, int] = {}
    con = connect_warehouse(db_path)
    try:
        con.execute("begin transaction")
        ensure_audit_tables(con)
        for table in RAW_TABLES[schema]:
            ensure_raw_table(con, schema, table)
            target = f"{ident(schema)}.{ident(table)}"
            count = con.execute(f"select count(*) from {target} where _source like 'demo:%'").fetchone()[0]
            if count:
                con.execute(f"delete from {target} where _source like 'demo:%'")
                con.execute(f"comment on table {target} is null")
            removed[table] = int(count)
        con.execute("commit")
    finally:
        con.close()
    return removed
