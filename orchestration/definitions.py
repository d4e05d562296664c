"""The Dagster code location: `dagster dev -w workspace.yaml` loads `defs` from here."""

from __future__ import annotations

import dagster as dg

from orchestration.agreement import load_agreement
from orchestration.assets.dbt import smarketing_dbt
from orchestration.assets.ingestion import demo_world, raw_source_assets
from orchestration.assets.pii import pii_salt, pii_salt_resource
from orchestration.assets.postgres import postgres_marts, postgres_publish_enabled, postgres_publish_resource
from orchestration.assets.publish import publish
from orchestration.assets.quality import quality_checks
from orchestration.assets.weekly import weekly_assets, weekly_snapshot_job, weekly_snapshot_schedule
from orchestration.jobs import all_assets_job, daily_schedule, full_refresh_job
from orchestration.resources import build_resources
from orchestration.sensors import landing_files_job, landing_files_sensor
from orchestration.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    # An invalid agreement stops here, before any run, with a message naming the bad fields.
    load_agreement(settings.agreement_path)
    assets = [demo_world, *raw_source_assets, pii_salt, smarketing_dbt, publish, *weekly_assets]
    resources = {**build_resources(settings), "pii": pii_salt_resource()}
    if postgres_publish_enabled():  # SMARKETING_PG_PUBLISH_DSN set: also serve the marts from PostgreSQL
        assets.append(postgres_marts)
        resources["postgres_publish"] = postgres_publish_resource()
    return dg.Definitions(
        assets=assets,
        asset_checks=quality_checks,
        jobs=[all_assets_job, full_refresh_job, landing_files_job, weekly_snapshot_job],
        sensors=[landing_files_sensor],
        schedules=[daily_schedule(settings), weekly_snapshot_schedule],
        resources=resources,
        # One process per run: DuckDB allows a single writer, so steps must not run in parallel processes.
        executor=dg.in_process_executor,
    )


defs = build_definitions(Settings.from_env())
