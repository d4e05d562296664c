"""The publish step of write-audit-publish: the audited marts become what BI reads.

``publish`` depends on every mart. It runs only when the marts were rebuilt and audited in the same run:
dbt's tests fail the dbt step, and the blocking Great Expectations checks fail theirs, and either stops
this asset, so the serving file keeps the last good publication byte for byte.
"""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.assets.dbt import RELATIONS
from orchestration.publish import manifest_path, publish_marts, publish_parquet
from orchestration.resources import WAREHOUSE_POOL, AgreementResource, ServingResource

MART_KEYS = sorted((k for k in RELATIONS if k.path[0] == "marts"), key=lambda k: k.to_user_string())
PUBLISH = dg.AssetKey("publish")


@dg.asset(
    key=PUBLISH,
    group_name="serving",
    deps=MART_KEYS,
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    description=(
        "Copies the audited marts into the serving DuckDB file BI reads (SMARKETING_SERVING), in one "
        "atomic swap, only when every blocking check of the run passed."
    ),
)
def publish(
    context: dg.AssetExecutionContext, duckdb: DuckDBResource, serving: ServingResource, agreement: AgreementResource
) -> dg.MaterializeResult:
    publication = publish_marts(
        Path(duckdb.database),
        Path(serving.path),
        build_id=context.run.run_id,
        storage_version=serving.storage_version,
        agreement_version=str(agreement.load().version),
    )
    context.log.info("published %d tables to %s", len(publication.tables), publication.serving_path)
    parquet = {}
    if serving.parquet_dir:  # optional: the same marts as Parquet, for tools that read files
        folder = publish_parquet(Path(publication.serving_path), Path(serving.parquet_dir))
        parquet = {"parquet": dg.MetadataValue.path(str(folder))}
    return dg.MaterializeResult(
        metadata={
            **parquet,
            "serving_file": dg.MetadataValue.path(publication.serving_path),
            "manifest": dg.MetadataValue.path(str(manifest_path(Path(publication.serving_path)))),
            "build_id": publication.build_id,
            "published_at": publication.published_at,
            "storage_version": publication.storage_version,
            "agreement_version": publication.agreement_version or "",
            "tables": dg.MetadataValue.json(publication.tables),
            "dagster/row_count": sum(publication.tables.values()),
        }
    )
