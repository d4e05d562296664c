"""Load one dropped export exactly once: checksum ledger, mapping, quarantine, move aside.

``landing/<source>/<file>`` is loaded into ``raw_<source>.<table>`` (the mapping whose ``files`` glob
matches the name decides the table), merged on the table's key. Every load reconciles: rows in the
file = rows loaded + rows quarantined (``raw_quarantine.quarantined_rows`` keeps file, line, field,
value and reason). The file's rows, its quarantined rows and its ledger entry commit together.
Afterwards the file moves to ``_processed/``; a file rejected whole moves to ``_rejected/`` beside a
``.reason.txt``. A file whose content was loaded before (under any name) is skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel

from ingestion.files.mapping import FileMapping, MappingError, find_mapping, mappings_for
from ingestion.files.reader import SUPPORTED_SUFFIXES, FileRejected, read_file
from ingestion.files.transform import transform
from ingestion.raw_merge import LEDGER_TABLE, QUARANTINE_TABLE, ensure_audit_tables, merge_rows
from ingestion.warehouse import connect as connect_warehouse

PROCESSED_DIR = "_processed"
REJECTED_DIR = "_rejected"


class FileLoad(BaseModel):
    file: str
    checksum: str
    status: Literal["loaded", "duplicate", "rejected"]
    schema_name: str
    table: str | None = None
    mapping: str | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    blank_lines: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    unmapped_columns: list[str] = []
    reason: str | None = None
    moved_to: str | None = None


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pending_files(landing: Path) -> list[Path]:
    """Files waiting in ``landing`` (not in _processed/_rejected, not hidden or partial), oldest first."""
    if not landing.is_dir():
        return []
    files = [
        p for p in landing.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$", "_")) and not p.name.endswith((".part", ".tmp"))
    ]  # fmt: skip
    return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))


def loaded_checksums(db_path: Path) -> set[str]:
    if not Path(db_path).exists():
        return set()
    with connect_warehouse(db_path, read_only=True) as con:
        exists = con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'raw_quarantine' and table_name = 'file_loads'"
        ).fetchone()[0]
        return {r[0] for r in con.execute(f"select checksum from {LEDGER_TABLE}").fetchall()} if exists else set()


def load_file(db_path: Path, source: str, path: Path, mappings_dir: Path) -> FileLoad:
    schema = f"raw_{source}"
    digest = checksum(path)
    con = connect_warehouse(db_path)
    try:
        ensure_audit_tables(con)
        earlier = con.execute(f"select file from {LEDGER_TABLE} where checksum = ?", [digest]).fetchone()
        if earlier is not None:
            moved = _move(path, PROCESSED_DIR)
            return FileLoad(file=path.name, checksum=digest, status="duplicate", schema_name=schema,
                            reason=f"same content as {earlier[0]}, already loaded", moved_to=str(moved))  # fmt: skip
        try:
            mapping = _mapping_for(mappings_dir, source, path)
            raw = read_file(path, mapping.encoding, mapping.delimiter, mapping.sheet, mapping.skip_rows)
            result = transform(raw, mapping)
        except (FileRejected, MappingError) as exc:
            reason = f"{path.name}: rejected: {exc}"
            moved = _move(path, REJECTED_DIR, reason)
            return FileLoad(file=path.name, checksum=digest, status="rejected", schema_name=schema,
                            reason=reason, moved_to=str(moved))  # fmt: skip
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        batch_id = digest[:16]
        rows_loaded = result.rows.num_rows
        if rows_loaded + result.quarantined_lines != result.rows_in:
            raise RuntimeError(f"{path.name}: {result.rows_in} rows in but {rows_loaded} loaded "
                               f"+ {result.quarantined_lines} quarantined")  # fmt: skip
        con.execute("begin transaction")
        try:
            written = merge_rows(con, schema, mapping.table, result.rows, batch_id, loaded_at, f"file:{path.name}")
            if written != rows_loaded:
                raise RuntimeError(f"{path.name}: {rows_loaded} rows to load but {written} written")
            if result.quarantined:
                q = result.quarantined
                con.register("_quarantine", pa.table({
                    "batch_id": [batch_id] * len(q), "source": [source] * len(q),
                    "table_name": [mapping.table] * len(q), "file": [path.name] * len(q),
                    "line": [e.line for e in q], "field": [e.field for e in q], "value": [e.value for e in q],
                    "reason": [e.reason for e in q],
                    "record": [json.dumps(e.record, ensure_ascii=False) for e in q],
                    "quarantined_at": pa.array([loaded_at] * len(q), pa.timestamp("us")),
                }))  # fmt: skip
                con.execute(f"insert into {QUARANTINE_TABLE} select * from _quarantine")
                con.unregister("_quarantine")
            con.execute(
                f"insert into {LEDGER_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [digest, source, mapping.table, path.name, result.rows_in, rows_loaded, result.quarantined_lines,
                 raw.encoding, raw.delimiter, loaded_at],
            )  # fmt: skip
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.close()
    moved = _move(path, PROCESSED_DIR)
    return FileLoad(
        file=path.name, checksum=digest, status="loaded", schema_name=schema, table=mapping.table,
        mapping=mapping.name, rows_in=result.rows_in, rows_loaded=rows_loaded,
        rows_quarantined=result.quarantined_lines, blank_lines=raw.blank_lines, encoding=raw.encoding,
        delimiter=raw.delimiter, unmapped_columns=result.unmapped_columns, moved_to=str(moved),
    )  # fmt: skip


def _mapping_for(mappings_dir: Path, source: str, path: Path) -> FileMapping:
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise FileRejected(f"unsupported file type {path.suffix or '(none)'}; expected one of {SUPPORTED_SUFFIXES}")
    mappings = mappings_for(mappings_dir, source)
    mapping = find_mapping(mappings, path.name)
    if mapping is None:
        globs = {m.name if m.name != "identity" else m.table: m.files for m in mappings}
        raise FileRejected(f"no mapping for this file name; file-name patterns of raw_{source}: {globs}")
    return mapping


def _move(path: Path, folder: str, reason: str | None = None) -> Path:
    target_dir = path.parent / folder
    target_dir.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    target = target_dir / f"{stamp}__{path.name}"
    shutil.move(str(path), target)
    if reason is not None:
        target.with_name(target.name + ".reason.txt").write_text(reason + "\n", encoding="utf-8")
    return target


def load_pending(db_path: Path, source: str, landing: Path, mappings_dir: Path,
                 only: list[Path] | None = None) -> list[FileLoad]:  # fmt: skip
    """Load every waiting file of a source (or just ``only``), oldest first."""
    files = [p for p in (only or pending_files(landing)) if p.is_file()]
    return [load_file(db_path, source, p, mappings_dir) for p in files]
