"""Publish the marts into PostgreSQL for BI tools, atomically, with a read-only BI role.

The marts are copied into a scratch schema and swapped in with renames in the same transaction:
a dashboard sees the previous build or the new one, never a half-copied table, and never a lock
error (PostgreSQL readers simply wait for the swap's commit, which takes milliseconds).

The BI role may read the published marts and nothing else: USAGE on the schema and SELECT on its
tables, no access to raw, staging or intermediate schemas, no write anywhere, and sessions that
are read-only by default.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb
import psycopg2.errors
import psycopg2.extensions
from pydantic import BaseModel

from postgres_target.connection import connect, quote_ident
from postgres_target.copy import copy_table, duckdb_tables

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class PublishResult(BaseModel):
    schema_name: str
    bi_role: str
    tables: dict[str, int]  # table -> rows published

    @property
    def total_rows(self) -> int:
        return sum(self.tables.values())


def _check_role_name(role: str) -> None:
    if not _ROLE_NAME.match(role):
        raise ValueError(f"BI role name {role!r} must be lower-case letters, digits and underscores")


def ensure_bi_role(cur: psycopg2.extensions.cursor, role: str, password: str | None = None) -> None:
    """Create the BI role if missing: it can log in (with ``password`` if given), is read-only by
    default and owns nothing. Grants are given per schema by ``grant_bi_read``."""
    _check_role_name(role)
    cur.execute("select 1 from pg_roles where rolname = %s", [role])
    if cur.fetchone() is None:
        cur.execute(f"create role {quote_ident(role)} login nosuperuser nocreatedb nocreaterole noinherit")
    if password:
        cur.execute(f"alter role {quote_ident(role)} password %s", [password])
    cur.execute(f"alter role {quote_ident(role)} set default_transaction_read_only = on")


def grant_bi_read(cur: psycopg2.extensions.cursor, schema: str, role: str) -> None:
    """Let ``role`` read every table and view of ``schema``, and nothing more there."""
    _check_role_name(role)
    cur.execute(f"grant usage on schema {quote_ident(schema)} to {quote_ident(role)}")
    cur.execute(f"grant select on all tables in schema {quote_ident(schema)} to {quote_ident(role)}")


def publish_marts(
    duckdb_path: str | Path,
    dsn: str,
    schema: str = "marts",
    bi_role: str = "smarketing_bi",
    bi_password: str | None = None,
    swap_attempts: int = 20,
) -> PublishResult:
    """Copy every table of the DuckDB ``schema`` into the PostgreSQL ``schema``, replacing it atomically.

    1. Build ``<schema>__publishing`` (a schema BI tools do not query) and commit.
    2. Swap: lock the published tables (in name order, waiting for running queries to finish, with a
       short lock timeout so that the publisher, never a dashboard, gives way when they conflict), rename
       the published schema away and the new one in, commit. Queries queued behind the locks then
       resolve the names again and read the new tables. Retried with a back-off.
    3. Drop the previous tables.
    """
    _check_role_name(bi_role)
    building = f"{schema}__publishing"
    previous = f"{schema}__previous"
    tables: dict[str, int] = {}
    conn = connect(dsn)
    try:
        with duckdb.connect(str(duckdb_path), read_only=True) as duck, conn, conn.cursor() as cur:
            names = duckdb_tables(duck, schema)
            if not names:
                raise ValueError(f"{duckdb_path}: schema {schema} has no tables to publish")
            cur.execute(f"drop schema if exists {quote_ident(building)} cascade")
            cur.execute(f"create schema {quote_ident(building)}")
            for table in names:
                tables[table] = copy_table(duck, cur, (schema, table), (building, table))
                description = duck.execute(
                    "select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                    [schema, table],
                ).fetchone()
                if description and description[0]:
                    cur.execute(
                        f"comment on table {quote_ident(building)}.{quote_ident(table)} is %s", [description[0]]
                    )
            ensure_bi_role(cur, bi_role, bi_password)
            grant_bi_read(cur, building, bi_role)
        _swap(conn, schema, building, previous, swap_attempts)
        with conn, conn.cursor() as cur:
            cur.execute(f"drop schema if exists {quote_ident(previous)} cascade")
    finally:
        conn.close()
    return PublishResult(schema_name=schema, bi_role=bi_role, tables=tables)


def _swap(conn: psycopg2.extensions.connection, schema: str, building: str, previous: str, attempts: int) -> None:
    for attempt in range(1, attempts + 1):
        try:
            with conn, conn.cursor() as cur:
                cur.execute("set local lock_timeout = '500ms'")
                cur.execute(f"drop schema if exists {quote_ident(previous)} cascade")
                cur.execute(
                    "select quote_ident(table_name) from information_schema.tables "
                    "where table_schema = %s order by table_name",
                    [schema],
                )
                published = [f"{quote_ident(schema)}.{row[0]}" for row in cur.fetchall()]
                if published:
                    cur.execute(f"lock table {', '.join(published)} in access exclusive mode")
                cur.execute("select 1 from pg_namespace where nspname = %s", [schema])
                if cur.fetchone() is not None:
                    cur.execute(f"alter schema {quote_ident(schema)} rename to {quote_ident(previous)}")
                cur.execute(f"alter schema {quote_ident(building)} rename to {quote_ident(schema)}")
            return
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.DeadlockDetected):
            if attempt == attempts:
                raise
            time.sleep(min(0.05 * 2**attempt, 2.0))
