"""Load Parquet files into the raw layer: contract-checked, cast, all tables of a source in one transaction.

Framework-free so that the demo CLI, file drops and live connectors share it. DuckDB reads the files
itself (no Python rows). A full load replaces each table; a table whose current ``_batch_id`` equals
the new load's fingerprint is left alone, so loading the same files twice changes nothing, ``_loaded_at``
included. A partial load (a daily partition's window) upserts, on the natural key, only the rows whose
event date falls in the window (or is unknown).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
from pydantic import BaseModel

from ingestion.raw_schema import LOAD_METADATA, RAW_TABLES
from ingestion.sources import CREATED_COLUMNS, PARTITION_COLUMNS, PRIMARY_KEYS
from ingestion.warehouse import DuckDBSettings
from ingestion.warehouse import connect as connect_warehouse

# DuckDB tries dictionary compression on every string column segment it writes; raw tables' strings are
# mostly unique ids, URLs with click ids and e-mails, where that analysis is wasted work. Without it
# the load writes the raw web tables with about a fifth less CPU (scale 10: sessions 19.5 -> 15 s,
# page views 34 -> 26 s); the whole raw load takes ~10 % less wall and CPU, for a warehouse ~17 % larger
# (2.21 -> 2.59 GB) and ~0.3 GB more peak memory; low-cardinality columns fall back to FSST. Tables of
# less than a row group go through the WAL and are compressed as before.
# Added, for this load's own connection, to the warehouse's setting (ingestion/warehouse.py).
LOAD_DISABLED_COMPRESSION = "dictionary"


class RawContractError(ValueError):
    """A file does not have exactly the columns the raw contract declares."""


class LoadWindow(BaseModel):
    """Rows whose event time is in [start, end): aware datetimes in the partitions' time zone. No start:
    from the beginning, replacing the table (a full refresh); no end: up to whatever has arrived."""

    start: dt.datetime | None
    end: dt.datetime | None

    def predicate(self, column: str, sql_type: str) -> str | None:
        """SQL selecting the window's rows by ``column``; rows with no event time always qualify."""
        col = _ident(column)
        if sql_type == "TIMESTAMP":  # naive UTC
            value, cast = col, "timestamp"
            start, end = (b.astimezone(dt.UTC).replace(tzinfo=None) if b else None for b in (self.start, self.end))
        else:  # a date in the source's own calendar, compared with the partitions' local days
            value, cast = f"try_cast({col} as date)", "date"
            start, end = (b.date() if b else None for b in (self.start, self.end))
        bounds = [f"{value} >= cast({_literal(start)} as {cast})"] if start else []
        bounds += [f"{value} < cast({_literal(end)} as {cast})"] if end else []
        return f"({' and '.join(bounds)} or {value} is null)" if bounds else None

    @property
    def label(self) -> str:
        return f"{self.start.date() if self.start else 'start'}..{self.end.date() if self.end else 'latest'}"


class TableLoad(BaseModel):
    table: str
    file: str
    rows_in: int
    rows_loaded: int
    skipped: bool
    batch_id: str
    window: str | None = None  # the partial load's window, when not a full replace


class LoadResult(BaseModel):
    schema_name: str
    source: str
    loaded_at: dt.datetime
    tables: dict[str, TableLoad]

    @property
    def rows_loaded(self) -> int:
        return sum(t.rows_loaded for t in self.tables.values() if not t.skipped)


def file_batch_id(path: Path) -> str:
    """Content fingerprint of a file: first 16 hex characters of its sha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def load_parquet_tables(
    db_path: str | Path, schema: str, files: dict[str, Path], source: str, window: LoadWindow | None = None
) -> LoadResult:
    """Load raw tables `schema.<table>` from Parquet files, all or nothing for the source: replace them
    (no window, or a window without start), or upsert the window's rows."""
    if schema not in RAW_TABLES:
        raise RawContractError(f"unknown raw schema {schema!r}; expected one of {sorted(RAW_TABLES)}")
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = connect_warehouse(db_path)
    try:
        con.execute("set enable_progress_bar = false")
        # Check every file before touching the database, so a bad file leaves all tables as they were.
        for table, path in files.items():
            _check_columns(con, schema, table, Path(path))
        # Fingerprints are hashed on a thread (hashlib releases the GIL), in file order, while DuckDB
        # loads the tables before: each load waits only for its own file's fingerprint.
        hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-fingerprint")
        fingerprints = {table: hasher.submit(file_batch_id, Path(path)) for table, path in files.items()}
        results: dict[str, TableLoad] = {}
        settings = DuckDBSettings.from_env()
        disabled = {m for m in settings.disabled_compression_methods.split(",") if m} | {LOAD_DISABLED_COMPRESSION}
        con.execute(f"set disabled_compression_methods = {_literal(','.join(sorted(disabled)))}")
        try:
            con.execute("begin transaction")
            try:
                con.execute(f"create schema if not exists {_ident(schema)}")
                for table, path in files.items():
                    label = f"{source}:{Path(path).name}"
                    fingerprint = fingerprints[table].result()
                    if window is not None and window.start is not None:
                        results[table] = _upsert_window(con, schema, table, Path(path), window, loaded_at, label,
                                                        fingerprint)  # fmt: skip
                        continue
                    batch_id = fingerprint
                    if window is not None and window.end is not None:  # a full load up to a day is its own batch
                        batch_id += f":{window.label}"
                    results[table] = _load_table(con, schema, table, Path(path), batch_id, loaded_at, label, window)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            hasher.shutdown(wait=True, cancel_futures=True)
    finally:
        con.close()
    return LoadResult(schema_name=schema, source=source, loaded_at=loaded_at, tables=results)


def _check_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str, path: Path) -> None:
    contract = RAW_TABLES[schema].get(table)
    if contract is None:
        raise RawContractError(
            f"{schema}.{table} (file {path}) is not in the raw contract; tables: {sorted(RAW_TABLES[schema])}"
        )
    if not path.is_file():
        raise RawContractError(f"{schema}.{table}: file {path} does not exist")
    found = [row[0] for row in con.execute(f"describe select * from read_parquet({_literal(path)})").fetchall()]
    missing = [c for c in contract if c not in found]
    unexpected = [c for c in found if c not in contract]
    if missing or unexpected:
        raise RawContractError(
            f"{schema}.{table} (file {path}) does not match the raw contract: "
            f"missing columns {missing}, unexpected columns {unexpected}"
        )


def _load_table(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    path: Path,
    batch_id: str,
    loaded_at: dt.datetime,
    source_label: str,
    window: LoadWindow | None = None,
) -> TableLoad:
    target = f"{_ident(schema)}.{_ident(table)}"
    where = _window_filter(schema, table, window)
    rows_in = con.execute(f"select count(*) from read_parquet({_literal(path)}){where}").fetchone()[0]
    if _current_batch_id(con, schema, table) == batch_id:
        rows = con.execute(f"select count(*) from {target}").fetchone()[0]
        return TableLoad(table=table, file=str(path), rows_in=rows_in, rows_loaded=rows, skipped=True,
                         batch_id=batch_id)  # fmt: skip
    casts = ", ".join(f"cast({_ident(c)} as {t}) as {_ident(c)}" for c, t in RAW_TABLES[schema][table].items())
    metadata = ", ".join(f"cast(? as {t}) as {_ident(c)}" for c, t in LOAD_METADATA.items())
    try:
        con.execute(
            f"create or replace table {target} as select {casts}, {metadata} from read_parquet({_literal(path)}){where}",
            [batch_id, loaded_at, source_label],
        )
    except duckdb.Error as exc:
        raise RawContractError(f"{schema}.{table} (file {path}): cannot cast to the contract types: {exc}") from exc
    # The batch id also goes in the table comment: it survives an empty table.
    con.execute(f"comment on table {target} is {_literal(batch_id)}")
    rows_loaded = con.execute(f"select count(*) from {target}").fetchone()[0]
    if rows_loaded != rows_in:
        raise RuntimeError(f"{schema}.{table}: read {rows_in} rows from {path} but loaded {rows_loaded}")
    return TableLoad(table=table, file=str(path), rows_in=rows_in, rows_loaded=rows_loaded, skipped=False,
                     batch_id=batch_id)  # fmt: skip


def _window_filter(schema: str, table: str, window: LoadWindow | None) -> str:
    column = PARTITION_COLUMNS.get(schema, {}).get(table)
    if window is not None and window.start is None:  # a full load up to a day: the records that existed
        column = CREATED_COLUMNS.get(schema, {}).get(table, column)
    predicate = window.predicate(column, RAW_TABLES[schema][table][column]) if window and column else None
    return f" where {predicate}" if predicate else ""


def _upsert_window(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    table: str,
    path: Path,
    window: LoadWindow,
    loaded_at: dt.datetime,
    source_label: str,
    fingerprint: str | None = None,
) -> TableLoad:
    """Replace, on the natural key, the rows of the window: restated days and changed records win.
    ``fingerprint``: the file's batch id if already computed (else hashed here)."""
    target = f"{_ident(schema)}.{_ident(table)}"
    contract = RAW_TABLES[schema][table]
    casts = ", ".join(f"cast({_ident(c)} as {t}) as {_ident(c)}" for c, t in contract.items())
    where = _window_filter(schema, table, window)
    try:
        con.execute(
            f"create or replace temp table _window as select {casts} from read_parquet({_literal(path)}){where}"
        )
    except duckdb.Error as exc:
        raise RawContractError(f"{schema}.{table} (file {path}): cannot cast to the contract types: {exc}") from exc
    rows_in = con.execute("select count(*) from _window").fetchone()[0]
    columns = ", ".join(f"{_ident(c)} {t}" for c, t in {**contract, **LOAD_METADATA}.items())
    con.execute(f"create table if not exists {target} ({columns})")
    match = " and ".join(f"t.{_ident(k)} = w.{_ident(k)}" for k in PRIMARY_KEYS[schema][table])
    con.execute(f"delete from {target} t where exists (select 1 from _window w where {match})")
    batch_id = f"{fingerprint or file_batch_id(path)}:{window.label}"
    metadata = ", ".join(f"cast(? as {t})" for t in LOAD_METADATA.values())
    con.execute(f"insert into {target} select *, {metadata} from _window", [batch_id, loaded_at, source_label])
    con.execute("drop table _window")
    # A partial load changes the table: a later full load of the same file must not be skipped.
    con.execute(f"comment on table {target} is {_literal(batch_id)}")
    return TableLoad(table=table, file=str(path), rows_in=rows_in, rows_loaded=rows_in, skipped=False,
                     batch_id=batch_id, window=window.label)  # fmt: skip


def _current_batch_id(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    row = con.execute(
        "select comment from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
    ).fetchone()
    if row is None:
        return None
    columns = {r[0] for r in con.execute(f"describe {_ident(schema)}.{_ident(table)}").fetchall()}
    if "_batch_id" not in columns:
        return None
    if row[0]:  # set by every demo load, full or partial
        return row[0]
    return con.execute(f"select any_value(_batch_id) from {_ident(schema)}.{_ident(table)}").fetchone()[0]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"
