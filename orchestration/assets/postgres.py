"""Optional: publish the marts into a PostgreSQL ``marts`` schema for BI tools.

Enabled when ``SMARKETING_PG_PUBLISH_DSN`` is set (a libpq connection string). The DSN reaches the
resource through ``dg.EnvVar``: the UI and the run's config show the variable's name, and the
asset's metadata and logs name the server without the password.
"""

import os
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.assets.dbt import smarketing_dbt
from orchestration.resources import WAREHOUSE_POOL
from postgres_target.connection import (
    BI_PASSWORD_ENV,
    BI_ROLE_ENV,
    DEFAULT_BI_ROLE,
    PUBLISH_DSN_ENV,
    redact_dsn,
)
from postgres_target.publish import publish_marts

POSTGRES_MARTS_KEY = dg.AssetKey(["postgres", "marts"])
MART_KEYS = sorted(
    (k for k in smarketing_dbt.keys if k.path[0] == "marts"), key=lambda k: k.path
)


class PostgresPublishResource(dg.ConfigurableResource):
    """Where the marts are published, and the read-only role BI tools log in as."""

    dsn: str
    bi_role: str = DEFAULT_BI_ROLE
    bi_password: str | None = None


def postgres_publish_enabled() -> bool:
    return bool(os.environ.get(PUBLISH_DSN_ENV))


def postgres_publish_resource() -> PostgresPublishResource:
    return PostgresPublishResource(
        dsn=dg.EnvVar(PUBLISH_DSN_ENV),
        bi_role=os.environ.get(BI_ROLE_ENV, DEFAULT_BI_ROLE),
        bi_password=dg.EnvVar(BI_PASSWORD_ENV) if os.environ.get(BI_PASSWORD_ENV) else None,
    )


@dg.asset(
    key=POSTGRES_MARTS_KEY,
    group_name="serving",
    kinds={"postgres"},
    deps=MART_KEYS,
    pool=WAREHOUSE_POOL,  # reads the DuckDB warehouse: not while a writer holds it
    description=(
        "Every mart copied into PostgreSQL's `marts` schema and swapped in atomically; "
        "a read-only BI role can select them and nothing else."
    ),
)
def postgres_marts(
    context: dg.AssetExecutionContext, postgres_publish: PostgresPublishResource, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    target = redact_dsn(postgres_publish.dsn)
    context.log.info("publishing marts to PostgreSQL (%s)", target)
    result = publish_marts(
        Path(duckdb.database),
        postgres_publish.dsn,
        schema="marts",
        bi_role=postgres_publish.bi_role,
        bi_password=postgres_publish.bi_password,
    )
    return dg.MaterializeResult(
        metadata={
            "target": target,
            "schema": result.schema_name,
            "bi_role": result.bi_role,
            "tables": dg.MetadataValue.json(result.tables),
            "dagster/row_count": result.total_rows,
        }
    )
