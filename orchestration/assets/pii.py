"""The personal-data salt asset: ``raw_pii/salt``, read by dbt to hash e-mails in the marts.

The salt comes from ``SMARKETING_PII_SALT`` through a resource configured with ``dg.EnvVar``, so the
UI shows the variable's name, never its value; neither logs nor metadata carry it. Without the
variable, the documented demo salt is used, and only while every raw contact comes from the demo world.
"""

import os
from pathlib import Path

import dagster as dg
import duckdb as duckdb_module
from dagster_duckdb import DuckDBResource

from ingestion.pii_salt import DEMO_PII_SALT, PII_SALT_ENV, check_salt, write_pii_salt
from orchestration.metadata import relations_metadata
from orchestration.resources import WAREHOUSE_POOL

PII_SALT_KEY = dg.AssetKey(["raw_pii", "salt"])
# The raw tables holding personal identifiers; the salt is written after them so that the demo-only
# fallback can check where they came from.
PERSONAL_RAW_TABLES = [dg.AssetKey(["raw_crm", "contacts"]), dg.AssetKey(["raw_web", "form_submissions"])]


class PiiSaltResource(dg.ConfigurableResource):
    """The salt of the personal-data hashes; ``demo_default`` when SMARKETING_PII_SALT is unset."""

    salt: str
    demo_default: bool = False


def pii_salt_resource() -> PiiSaltResource:
    if os.environ.get(PII_SALT_ENV):
        return PiiSaltResource(salt=dg.EnvVar(PII_SALT_ENV), demo_default=False)
    return PiiSaltResource(salt=DEMO_PII_SALT, demo_default=True)


def _non_demo_sources(database: str) -> list[str]:
    with duckdb_module.connect(database, read_only=True) as con:
        rows = con.execute(
            "select distinct _source from raw_crm.contacts where _source not like 'demo:%' "
            "union select distinct _source from raw_web.form_submissions where _source not like 'demo:%'"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


@dg.asset(
    key=PII_SALT_KEY,
    group_name="raw",
    kinds={"duckdb"},
    deps=PERSONAL_RAW_TABLES,
    pool=WAREHOUSE_POOL,
    description="The salt of the e-mail hashes in the marts (from SMARKETING_PII_SALT; value never shown).",
)
def pii_salt(context: dg.AssetExecutionContext, pii: PiiSaltResource, duckdb: DuckDBResource) -> dg.MaterializeResult:
    if pii.demo_default:
        others = _non_demo_sources(duckdb.database)
        if others:
            raise dg.Failure(
                f"{PII_SALT_ENV} is not set and the raw layer holds data from {others}: the demo salt is "
                f"only for the demo world. Set {PII_SALT_ENV} to a long random secret."
            )
        context.log.warning("%s is not set: using the documented demo salt (demo world only)", PII_SALT_ENV)
    written = write_pii_salt(duckdb.database, check_salt(pii.salt))
    relation = f"{PII_SALT_KEY.path[0]}.{PII_SALT_KEY.path[1]}"
    return dg.MaterializeResult(
        metadata={
            **relations_metadata(Path(duckdb.database), [relation])[relation],  # the preview masks the salt
            "skipped_unchanged": not written,
            "salt_source": "demo default" if pii.demo_default else f"environment variable {PII_SALT_ENV}",
        }
    )
