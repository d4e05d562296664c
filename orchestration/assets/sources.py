"""The raw assets' file and live modes (the demo mode is in ``ingestion.py``).

``SMARKETING_SOURCE_MODE_<SOURCE>`` picks, per source, where ``raw_<source>`` comes from. Each mode
yields one ``MaterializeResult`` per raw table of the source, with the load's reconciliation
(rows in = rows loaded + rows quarantined) in the metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from ingestion.files.loader import FileLoad, load_pending
from ingestion.raw_merge import prepare_source_tables
from ingestion.raw_schema import RAW_TABLES
from ingestion.sources import SourceSettings
from orchestration.metadata import relations_metadata

LANDING_FILE_TAG = "smarketing/landing_file"


def load_from_files(
    context: dg.AssetExecutionContext, schema: str, db_path: Path, settings: SourceSettings
) -> Iterator[dg.MaterializeResult]:
    source = schema.removeprefix("raw_")
    landing = settings.landing(source)
    landing.mkdir(parents=True, exist_ok=True)
    tagged = context.run.tags.get(LANDING_FILE_TAG)
    only = [landing / tagged] if tagged else None
    if only and not only[0].is_file():
        context.log.info("%s was already handled by an earlier run; loading whatever else waits", tagged)
        only = None
    demo_removed = prepare_source_tables(str(db_path), schema)
    for table, count in demo_removed.items():
        if count:
            context.log.warning("%s.%s: removed %s demo-world rows (source now in files mode)", schema, table, count)
    loads = load_pending(db_path, source, landing, settings.mappings_dir, only=only)
    for load in loads:
        log = context.log.error if load.status == "rejected" else context.log.info
        log("%s: %s", load.file, _describe(load))
    yield from _results(schema, db_path, loads)
    rejected = [load for load in loads if load.status == "rejected"]
    if rejected:
        raise dg.Failure(
            description="; ".join(load.reason or load.file for load in rejected),
            metadata={"rejected_files": [load.moved_to or load.file for load in rejected]},
        )


def load_from_api(
    context: dg.AssetExecutionContext, schema: str, db_path: Path
) -> Iterator[dg.MaterializeResult]:
    from ingestion.live import run_connector

    demo_removed = prepare_source_tables(str(db_path), schema)
    if any(demo_removed.values()):
        context.log.warning("%s: removed demo-world rows %s (source now in live mode)", schema, demo_removed)
    report = run_connector(schema, db_path)
    for table, load in report.items():
        context.log.info("%s.%s: %s", schema, table, load.model_dump_json())
    metadata = relations_metadata(db_path, [f"{schema}.{t}" for t in RAW_TABLES[schema]])
    for table in RAW_TABLES[schema]:
        load = report.get(table)
        extra = load.metadata() if load else {"rows_loaded": 0, "note": "no live endpoint for this table"}
        yield dg.MaterializeResult(asset_key=[schema, table], metadata={**metadata[f"{schema}.{table}"], **extra})


def _describe(load: FileLoad) -> str:
    if load.status == "loaded":
        return (f"{load.rows_in} rows in = {load.rows_loaded} loaded into {load.schema_name}.{load.table} "
                f"+ {load.rows_quarantined} quarantined (mapping {load.mapping}, {load.encoding}, "
                f"separator {load.delimiter!r})")  # fmt: skip
    return f"{load.status}: {load.reason} (moved to {load.moved_to})"


def _results(schema: str, db_path: Path, loads: list[FileLoad]) -> Iterator[dg.MaterializeResult]:
    tables = RAW_TABLES[schema]
    metadata = relations_metadata(db_path, [f"{schema}.{t}" for t in tables])
    for table in tables:
        mine = [load for load in loads if load.table == table and load.status == "loaded"]
        rows_in = sum(load.rows_in for load in mine)
        rows_loaded = sum(load.rows_loaded for load in mine)
        rows_quarantined = sum(load.rows_quarantined for load in mine)
        yield dg.MaterializeResult(
            asset_key=[schema, table],
            metadata={
                **metadata.get(f"{schema}.{table}", {}),
                "mode": "files",
                "files_loaded": [load.file for load in mine],
                "rows_in": rows_in,
                "rows_loaded": rows_loaded,
                "rows_quarantined": rows_quarantined,
                "reconciled": rows_in == rows_loaded + rows_quarantined,
                "duplicates_skipped": [load.file for load in loads if load.status == "duplicate"],
                "rejected_files": [load.file for load in loads if load.status == "rejected"],
                "unmapped_columns": sorted({c for load in mine for c in load.unmapped_columns}),
            },
        )

