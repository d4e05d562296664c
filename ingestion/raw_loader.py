"""Load Parquet files into the raw layer: contract-checked, cast, all tables of a source in one transaction.

Framework-free so that the demo CLI, file drops and live connectors share it. DuckDB reads the files
itself (no Python rows). A table whose current ``_batch_id`` equals the new file's fingerprint is left
alone, so loading the same files twice changes nothing, ``_loaded_at`` included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb
from pydantic import BaseModel

from ingestion.raw_schema import LOAD_METADATA, RAW_TABLES


class RawContractError(ValueError):
    """A file does not have exactly the columns the raw contract declares."""


class TableLoad(BaseModel):
    table: str
    file: str
    rows_in: int
    rows_loaded: int
    skipped: bool
    batch_id: str


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


def load_parquet_tables(db_path: str | Path, schema: str, files: dict[str, Path], source: str) -> LoadResult:
    """Replace raw tables `schema.<table>` from Parquet files, all or nothing for the source."""
    if schema not in RAW_TABLES:
        raise RawContractError(f"unknown raw schema {schema!r}; expected one of {sorted(RAW_TABLES)}")
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con = duckdb.connect(str(db_path))
    try:
        con.execute("set enable_progress_bar = false")
        # Check every file before touching the database, so a bad file leaves all tables as they were.
        batch_ids = {}
        for table, path in files.items():
            _check_columns(con, schema, table, Path(path))
            batch_ids[table] = file_batch_id(Path(path))
        results: dict[str, TableLoad] = {}
        con.execute("begin transaction")
        try:
            con.execute(f"create schema if not exists {_ident(schema)}")
            for table, path in files.items():
                results[table] = _load_table(
                    con, schema, table, Path(path), batch_ids[table], loaded_at, f"{source}:{Path(path).name}"
                )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
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
) -> TableLoad:
    target = f"{_ident(schema)}.{_ident(table)}"
    rows_in = con.execute(f"select count(*) from read_parquet({_literal(path)})").fetchone()[0]
    if _current_batch_id(con, schema, table) == batch_id:
        rows = con.execute(f"select count(*) from {target}").fetchone()[0]
        return TableLoad(table=table, file=str(path), rows_in=rows_in, rows_loaded=rows, skipped=True,
                         batch_id=batch_id)  # fmt: skip
    casts = ", ".join(f"cast({_ident(c)} as {t}) as {_ident(c)}" for c, t in RAW_TABLES[schema][table].items())
    metadata = ", ".join(f"cast(? as {t}) as {_ident(c)}" for c, t in LOAD_METADATA.items())
    try:
        con.execute(
            f"create or replace table {target} as select {casts}, {metadata} from read_parquet({_literal(path)})",
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


def _current_batch_id(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str | None:
    row = con.execute(
        "select comment from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
    ).fetchone()
    if row is None:
        return None
    columns = {r[0] for r in con.execute(f"describe {_ident(schema)}.{_ident(table)}").fetchall()}
    if "_batch_id" not in columns:
        return None
    loaded = con.execute(f"select any_value(_batch_id) from {_ident(schema)}.{_ident(table)}").fetchone()[0]
    return loaded if loaded is not None else row[0]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"
