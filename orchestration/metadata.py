"""Row counts and previews for asset metadata, read from the warehouse after a write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from ingestion.warehouse import connect as connect_warehouse

PREVIEW_ROWS = 5
# Raw tables hold personal data; the UI preview must not show it.
PERSONAL_COLUMNS = frozenset({"email", "phone", "first_name", "last_name"})
# Nor derived personal data (normalised e-mails, unsalted hashes) or the salt; salted hashes may show.
MASKED_NAME_PARTS = ("email", "phone", "salt")


def is_masked(column: str) -> bool:
    name = column.lower()
    if name.endswith("_hash"):
        return False
    return name in PERSONAL_COLUMNS or any(part in name for part in MASKED_NAME_PARTS)


def _markdown_table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def table_metadata(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, dg.MetadataValue]:
    """Row count and a small preview of ``relation`` (schema.table)."""
    row_count = con.execute(f"select count(*) from {relation}").fetchone()[0]
    preview = con.execute(f"select * from {relation} limit {PREVIEW_ROWS}")
    columns = [d[0] for d in preview.description]
    masked = {i for i, name in enumerate(columns) if is_masked(name)}
    rows = [tuple("***" if i in masked and v is not None else v for i, v in enumerate(r)) for r in preview.fetchall()]
    return {
        "dagster/row_count": dg.MetadataValue.int(int(row_count)),
        "preview": dg.MetadataValue.md(_markdown_table(columns, rows)),
    }


def relations_metadata(db_path: Path, relations: list[str]) -> dict[str, dict[str, dg.MetadataValue]]:
    """Metadata for many relations with one read-only connection (the writer has finished)."""
    with connect_warehouse(db_path, read_only=True) as con:
        return {relation: table_metadata(con, relation) for relation in relations}
