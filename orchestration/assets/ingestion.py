"""Ingestion assets: the demo world's exports, and one raw-loading asset per source.

Raw asset keys are ``[schema, table]`` (``raw_crm/contacts``); the dbt translator maps each dbt
source to the same key, so lineage in the UI runs from the source to the marts.
"""

import json
import time
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from ingestion.demo.world import build_world
from ingestion.raw_loader import load_parquet_tables
from ingestion.raw_schema import RAW_TABLES
from ingestion.sources import SourceMode, SourceSettings
from orchestration.assets.sources import load_from_api, load_from_files
from orchestration.metadata import relations_metadata
from orchestration.partitions import DAILY_PARTITIONS, SINGLE_RUN, load_window
from orchestration.resources import WAREHOUSE_POOL, DemoWorldResource

DEMO_WORLD = dg.AssetKey("demo_world")


@dg.asset(
    key=DEMO_WORLD,
    group_name="sources",
    kinds={"python", "parquet"},
    description="The seeded synthetic company: every source's export as Parquet, plus the known truth.",
)
def demo_world(context: dg.AssetExecutionContext, demo: DemoWorldResource) -> dg.MaterializeResult:
    started = time.perf_counter()
    # Streamed to disk table by table: large scales never hold the whole world in memory.
    world = build_world(demo.path, scale=demo.scale, seed=demo.seed, end_date=demo.end, days=demo.days)
    rows = world.rows
    context.log.info("demo world written to %s", demo.path)
    return dg.MaterializeResult(
        metadata={
            "scale": demo.scale,
            "seed": demo.seed,
            "end_date": demo.end_date,
            "files": dg.MetadataValue.path(demo.out_dir),
            "rows": dg.MetadataValue.json(rows),
            "truth": dg.MetadataValue.json(json.loads(world.truth.model_dump_json())),
            "seconds": round(time.perf_counter() - started, 2),
            "dagster/row_count": sum(rows.values()),
        }
    )


def _raw_source_asset(schema: str) -> dg.AssetsDefinition:
    tables = RAW_TABLES[schema]

    @dg.multi_asset(
        name=f"load_{schema}",
        specs=[
            dg.AssetSpec(
                key=[schema, table],
                group_name="raw",
                deps=[DEMO_WORLD],
                kinds={"duckdb"},
                description=f"Raw `{schema}.{table}` in the source's own shape, with load metadata.",
            )
            for table in tables
        ],
        pool=WAREHOUSE_POOL,
        partitions_def=DAILY_PARTITIONS,
        backfill_policy=SINGLE_RUN,
    )
    def load_source(context: dg.AssetExecutionContext, demo: DemoWorldResource, duckdb: DuckDBResource):
        mode = SourceSettings.from_env().mode(schema)
        window = load_window(context)
        if window is not None and mode != SourceMode.DEMO:
            # Files load whatever was dropped; live connectors keep their own cursor and look-back.
            context.log.info("%s is in %s mode: the partition only dates the run", schema, mode.value)
        if mode == SourceMode.FILES:  # exports dropped in landing/<source>/ (orchestration/assets/sources.py)
            yield from load_from_files(context, schema, Path(duckdb.database), SourceSettings.from_env())
            return
        if mode == SourceMode.LIVE:  # the source's API (ingestion/live/)
            yield from load_from_api(context, schema, Path(duckdb.database))
            return
        files = {table: demo.path / schema / f"{table}.parquet" for table in tables}
        result = load_parquet_tables(duckdb.database, schema, files, source="demo", window=window)
        metadata = relations_metadata(Path(duckdb.database), [f"{schema}.{t}" for t in tables])
        for table_result in result.tables.values():
            context.log.info(
                "%s.%s: %s rows in, %s loaded%s%s",
                schema,
                table_result.table,
                table_result.rows_in,
                table_result.rows_loaded,
                f" (window {table_result.window}, upserted)" if table_result.window else "",
                " (unchanged batch, skipped)" if table_result.skipped else "",
            )
            yield dg.MaterializeResult(
                asset_key=[schema, table_result.table],
                metadata={
                    **metadata[f"{schema}.{table_result.table}"],
                    "rows_in": table_result.rows_in,
                    "rows_loaded": table_result.rows_loaded,
                    "batch_id": table_result.batch_id,
                    "skipped_unchanged": table_result.skipped,
                    "window": table_result.window or "full",
                },
            )

    return load_source


raw_source_assets = [_raw_source_asset(schema) for schema in RAW_TABLES]
