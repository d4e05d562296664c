"""Publish the marts into PostgreSQL for BI tools, atomically, with a read-only BI role.

The marts are copied into a scratch schema and swapped in with renames in the same transaction:
a dashboard sees the previous build or the new one, never a half-copied table, and never a lock
error (PostgreSQL readers simply wait for the swap's commit, which takes milliseconds).

The ``snapshots`` schema (``snapshots.kpi_snapshot``, the frozen weekly KPIs) is published alongside
the marts when the warehouse has it, swapped in the same transaction.

The BI role may read the published schemas and nothing else: USAGE on them and SELECT on their
tables, no access to raw, staging or intermediate schemas, no write anywhere, and sessions that
are read-only by default.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import psycopg2.errors
import psycopg2.extensions
from pydantic import BaseModel

from postgres_target.connection import connect, quote_ident
from postgres_target.copy import copy_table, duckdb_tables

_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Published with the marts when the DuckDB warehouse has them (the weekly snapshot is taken separately,
# so a warehouse may not have one yet); a schema missing there is left as it is in PostgreSQL.
OPTIONAL_SCHEMAS = ("snapshots",)


class PublishResult(BaseModel):
    schema_name: str
    bi_role: str
    tables: dict[str, int]  # table of `schema_name` -> rows published
    other_tables: dict[str, int] = {}  # schema.table -> rows, for the optional schemas published

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
    optional_schemas: Sequence[str] = OPTIONAL_SCHEMAS,
) -> PublishResult:
    """Copy every table of the DuckDB ``schema`` (and of each of ``optional_schemas`` the warehouse has)
    into the PostgreSQL schema of the same name, replacing them all atomically.

    1. Build ``<schema>__publishing`` for each (schemas BI tools do not query), grant the BI role read
       on them, and commit.
    2. Swap: lock the published tables (``_lock_all``: without queueing while it can, then waiting for
       running queries to finish, with a short lock timeout so that the publisher, never a dashboard,
       gives way when they conflict), rename the published schemas away and the new ones in, commit.
       Queries queued behind the locks then resolve the names again and read the new tables. Retried
       with a back-off.
    3. Drop the previous tables.
    """
    _check_role_name(bi_role)
    tables: dict[str, dict[str, int]] = {}
    conn = connect(dsn)
    try:
        with duckdb.connect(str(duckdb_path), read_only=True) as duck, conn, conn.cursor() as cur:
            if not duckdb_tables(duck, schema):
                raise ValueError(f"{duckdb_path}: schema {schema} has no tables to publish")
            plan = {s: names for s in dict.fromkeys((schema, *optional_schemas)) if (names := duckdb_tables(duck, s))}
            ensure_bi_role(cur, bi_role, bi_password)
            for published, names in plan.items():
                building = f"{published}__publishing"
                tables[published] = {}
                cur.execute(f"drop schema if exists {quote_ident(building)} cascade")
                cur.execute(f"create schema {quote_ident(building)}")
                for table in names:
                    tables[published][table] = copy_table(duck, cur, (published, table), (building, table))
                    description = duck.execute(
                        "select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                        [published, table],
                    ).fetchone()
                    if description and description[0]:
                        cur.execute(
                            f"comment on table {quote_ident(building)}.{quote_ident(table)} is %s", [description[0]]
                        )
                grant_bi_read(cur, building, bi_role)
        _swap(conn, list(plan), swap_attempts)
        with conn, conn.cursor() as cur:
            for published in plan:
                cur.execute(f"drop schema if exists {quote_ident(published + '__previous')} cascade")
    finally:
        conn.close()
    return PublishResult(
        schema_name=schema,
        bi_role=bi_role,
        tables=tables[schema],
        other_tables={f"{s}.{t}": n for s, counts in tables.items() if s != schema for t, n in counts.items()},
    )


def _swap(conn: psycopg2.extensions.connection, schemas: list[str], attempts: int) -> None:
    """Rename each ``<schema>__publishing`` to ``<schema>`` (the old one to ``<schema>__previous``), all
    in one transaction."""
    for attempt in range(1, attempts + 1):
        try:
            with conn, conn.cursor() as cur:
                cur.execute("set local lock_timeout = '500ms'")
                for schema in schemas:
                    cur.execute(f"drop schema if exists {quote_ident(schema + '__previous')} cascade")
                cur.execute(
                    "select quote_ident(table_schema) || '.' || quote_ident(table_name) from information_schema.tables "
                    "where table_schema = any(%s) order by table_schema, table_name",
                    [schemas],
                )
                published = [row[0] for row in cur.fetchall()]
                if published:
                    _lock_all(cur, published)
                for schema in schemas:
                    cur.execute("select 1 from pg_namespace where nspname = %s", [schema])
                    if cur.fetchone() is not None:
                        cur.execute(f"alter schema {quote_ident(schema)} rename to {quote_ident(schema + '__previous')}")
                    cur.execute(f"alter schema {quote_ident(schema + '__publishing')} rename to {quote_ident(schema)}")
            return
        except (psycopg2.errors.LockNotAvailable, psycopg2.errors.DeadlockDetected):
            if attempt == attempts:
                raise
            time.sleep(min(0.05 * 2**attempt, 2.0))


# How long a swap first tries to take every lock at once without queueing (see _lock_all).
QUICK_LOCK_SECONDS = 2.0


def _lock_all(cur: psycopg2.extensions.cursor, tables: list[str]) -> None:
    """Lock every published table, first without queueing, then waiting in the queue.

    A publisher waiting in the lock queue holds the tables it has locked so far and makes new queries
    wait behind it; a dashboard query that locks the same tables in another order then deadlocks with
    it, and under a steady stream of such queries every waiting attempt can fail (the lock timeout
    cancels the publisher first, never the query). So for ``QUICK_LOCK_SECONDS`` it takes them all at
    once whenever no query holds any of them (NOWAIT, from a savepoint, a few milliseconds apart, so
    it never blocks a query); only then does it wait in the queue, where a stream of long queries
    cannot starve it."""
    statement = f"lock table {', '.join(tables)} in access exclusive mode"
    deadline = time.monotonic() + QUICK_LOCK_SECONDS
    cur.execute("savepoint quick_lock")  # one savepoint, rolled back to after each miss: no nesting
    while time.monotonic() < deadline:
        try:
            cur.execute(statement + " nowait")
            return
        except psycopg2.errors.LockNotAvailable:
            cur.execute("rollback to savepoint quick_lock")  # releases whatever it had locked
            time.sleep(random.uniform(0.0005, 0.003))
    cur.execute(statement)
