"""Scan published tables for anything that looks like an e-mail address or a phone number.

Used on every mart in the warehouse, the PostgreSQL `marts` (and `snapshots`) schemas, the serving
DuckDB file BI reads and its Parquet copy (``duckdb_values``, ``parquet_values`` read those). A value
is flagged when it contains an e-mail address, when it is an E.164-like number ('+' and 7 to 15
digits), or when its digits are those of a phone number the raw layer holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
E164 = re.compile(r"^\+\d{7,15}$")
PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,24}$")


def phone_digits(values: Iterable[str | None]) -> set[str]:
    """The digit strings of known phone numbers (7 digits or more)."""
    digits = {re.sub(r"\D", "", v) for v in values if v}
    return {d for d in digits if len(d) >= 7}


def _strings(value: object) -> Iterator[str]:
    """The text inside a value, nested lists and structs included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def personal_values(
    rows: Iterable[tuple[str, str, object]], known_phone_digits: set[str] = frozenset()
) -> list[tuple[str, str, str]]:
    """(table, column, value) for every value that looks like an e-mail or a phone number."""
    found = []
    for table, column, value in rows:
        for text in (t.strip() for t in _strings(value)):
            if EMAIL.search(text) or E164.match(text) or PHONE_LIKE.match(text) and re.sub(r"\D", "", text) in known_phone_digits:
                found.append((table, column, text))
    return found


def duckdb_values(path: Path, schemas: Iterable[str]) -> Iterator[tuple[str, str, object]]:
    """(schema.table, column, value) for every value of every table of ``schemas`` in a DuckDB file,
    opened read-only (as BI opens the serving file)."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
            "and list_contains(?::varchar[], schema_name) order by all",
            [list(schemas)],
        ).fetchall()
        for schema, table in tables:
            cursor = con.execute(f'select * from "{schema}"."{table}"')
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                for name, value in zip(names, row):
                    yield f"{schema}.{table}", name, value


def parquet_values(folder: Path) -> Iterator[tuple[str, str, object]]:
    """(file, column, value) for every value of every Parquet file under ``folder`` (recursively)."""
    with duckdb.connect() as con:
        for file in sorted(Path(folder).rglob("*.parquet")):
            name = str(file.relative_to(folder))
            cursor = con.execute("select * from read_parquet(?)", [str(file)])
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(names, row):
                    yield name, column, value
