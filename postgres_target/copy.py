"""Copy DuckDB tables into PostgreSQL: same columns, types mapped, rows bulk-loaded with COPY.

Used to put the raw layer of a DuckDB warehouse into PostgreSQL (the dbt ``postgres`` target reads it
there) and to publish the marts. DuckDB writes each table as CSV into a temporary file, PostgreSQL
reads it with ``COPY ... FROM STDIN``; the row counts must match or the copy fails.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import duckdb
import psycopg2.extensions

from postgres_target.connection import quote_ident

_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "HUGEINT": "numeric(38, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "BLOB": "bytea",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


class UnsupportedTypeError(ValueError):
    """A DuckDB column type with no PostgreSQL equivalent here (lists, structs, maps...)."""


def postgres_type(duckdb_type: str, column: str = "?") -> str:
    """The PostgreSQL type for a DuckDB column type."""
    if duckdb_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[duckdb_type]
    decimal = _DECIMAL.match(duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    raise UnsupportedTypeError(f"column {column}: DuckDB type {duckdb_type} has no PostgreSQL mapping")


def duckdb_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Base tables (not views) of a DuckDB schema, sorted."""
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]


def copy_table(
    duck: duckdb.DuckDBPyConnection,
    cur: psycopg2.extensions.cursor,
    source: tuple[str, str],
    target: tuple[str, str],
) -> int:
    """Create ``target`` in PostgreSQL like DuckDB's ``source`` (schema, table) and load its rows.

    Runs inside the caller's PostgreSQL transaction; the target schema must exist and the target
    table must not. Returns the number of rows copied.
    """
    src = f"{quote_ident(source[0])}.{quote_ident(source[1])}"
    dst = f"{quote_ident(target[0])}.{quote_ident(target[1])}"
    columns = duck.execute(f"describe {src}").fetchall()
    definitions = ", ".join(
        f"{quote_ident(name)} {postgres_type(dtype, f'{source[0]}.{source[1]}.{name}')}"
        for name, dtype, *_ in columns
    )
    cur.execute(f"create table {dst} ({definitions})")
    with tempfile.TemporaryDirectory(prefix="smarketing_pg_copy_") as tmp:
        path = Path(tmp) / "rows.csv"
        literal = "'" + str(path).replace("'", "''") + "'"
        # Empty strings are written quoted, NULLs unquoted: PostgreSQL's CSV format tells them apart.
        duck.execute(f"copy (select * from {src}) to {literal} (format csv, header true)")
        names = ", ".join(quote_ident(name) for name, *_ in columns)
        with path.open("r", encoding="utf-8") as rows:
            cur.copy_expert(f"copy {dst} ({names}) from stdin with (format csv, header true)", rows)
    expected = duck.execute(f"select count(*) from {src}").fetchone()[0]
    cur.execute(f"select count(*) from {dst}")
    copied = cur.fetchone()[0]
    if copied != expected:
        raise RuntimeError(f"{src} -> {dst}: DuckDB has {expected} rows but PostgreSQL received {copied}")
    return copied


def copy_schemas(
    duckdb_path: str | Path,
    conn: psycopg2.extensions.connection,
    schemas: list[str],
) -> dict[str, int]:
    """Replace each PostgreSQL schema in ``schemas`` with a copy of the DuckDB schema of that name.

    One transaction: PostgreSQL shows either the old schemas or all the new ones. Returns rows per
    ``schema.table``.
    """
    copied: dict[str, int] = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as duck, conn, conn.cursor() as cur:
        for schema in schemas:
            cur.execute(f"drop schema if exists {quote_ident(schema)} cascade")
            cur.execute(f"create schema {quote_ident(schema)}")
            for table in duckdb_tables(duck, schema):
                copied[f"{schema}.{table}"] = copy_table(duck, cur, (schema, table), (schema, table))
    return copied
