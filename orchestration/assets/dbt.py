"""dbt assets, built from the prepared manifest (``make manifest`` runs ``dbt parse``).

One definition, partitioned by day: a run invokes dbt once, whatever the number of days it covers. The
large models that grow by the day (``DAILY_MODELS``, incremental) rebuild the run's window; the rest
(staging views, CRM-side intermediates, dimensions, everything built from the daily models) is rebuilt
whole in the same invocation, so dbt schedules both over its threads at once.

The manifest is read at import, never produced by it: outside ``dagster dev`` a missing manifest is an
error telling the user what to run. Under ``dagster dev``, ``prepare_if_dev`` re-parses so model edits
show up on reload.
"""

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource

from ingestion.raw_loader import LoadWindow
from ingestion.warehouse import DuckDBSettings
from ingestion.warehouse import connect as connect_warehouse
from orchestration.metadata import relations_metadata
from orchestration.partitions import DAILY_PARTITIONS, SINGLE_RUN, load_window
from orchestration.resources import WAREHOUSE_POOL, AgreementResource
from orchestration.settings import DBT_PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
DBT_PROJECT.prepare_if_dev()
if not DBT_PROJECT.manifest_path.exists():
    raise FileNotFoundError(
        f"dbt manifest not found at {DBT_PROJECT.manifest_path}: run `make manifest` "
        "(dbt parse) before loading the Dagster definitions."
    )

# Only stored relations get a row count and preview: querying a view recomputes it.
_STORED_MATERIALIZATIONS = {"table", "incremental", "seed", "snapshot"}
# One-row marts whose rates (columns ending in `_rate`) also become float metadata entries of their own,
# so the UI plots them over materializations (the preview is markdown, which it cannot plot).
RATE_METADATA_RELATIONS = frozenset({"marts.kpi_identity_match_rates"})


class SmarketingTranslator(DagsterDbtTranslator):
    """Sources map to the raw assets' keys; groups follow the dbt layer folders."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "seed":
            return "reference"
        if resource_type == "model":
            return dbt_resource_props["fqn"][1]  # staging, intermediate or marts
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = SmarketingTranslator()


def _relations_by_key(manifest_path: Path) -> dict[dg.AssetKey, tuple[str, str]]:
    """Asset key -> (schema.alias, materialization) for every model and seed in the manifest."""
    manifest = json.loads(manifest_path.read_text())
    relations = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed"):
            relation = f'{node["schema"]}.{node.get("alias") or node["name"]}'
            relations[TRANSLATOR.get_asset_key(node)] = (relation, node["config"]["materialized"])
    return relations


RELATIONS = _relations_by_key(DBT_PROJECT.manifest_path)


# Incremental by day (materialized='incremental' in their SQL): a daily run rebuilds their window.
DAILY_MODELS = (
    "int_sessions_channel_grouped",  # the channel of each session, from its URLs: parsed once per session
    "fct_web_sessions",
    "fct_touchpoints",
    "fct_lead_stage_history",
    "fct_ad_spend_daily",
)


def rate_metadata(database: Path, relation: str) -> dict[str, dg.MetadataValue]:
    """Each ``*_rate`` column of a one-row relation as a float entry (a rate with no denominator,
    NULL in the mart, is left out)."""
    with connect_warehouse(database, read_only=True) as con:
        cursor = con.execute(f"select * from {relation}")
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    if len(rows) != 1:
        raise ValueError(f"{relation} should hold one row, not {len(rows)}")
    return {
        name: dg.MetadataValue.float(float(value))
        for name, value in zip(names, rows[0])
        if name.endswith("_rate") and value is not None
    }


def _with_table_metadata(assets_def: dg.AssetsDefinition, events: list[Any], database: Path) -> Iterator[Any]:
    """Attach row counts and previews (and rates, see ``RATE_METADATA_RELATIONS``) once dbt has
    released the DuckDB file."""
    keys_by_output = assets_def.keys_by_output_name
    built = [keys_by_output[e.output_name] for e in events if isinstance(e, dg.Output)]
    stored = [RELATIONS[k][0] for k in built if k in RELATIONS and RELATIONS[k][1] in _STORED_MATERIALIZATIONS]
    metadata = relations_metadata(database, stored) if stored else {}
    for relation in RATE_METADATA_RELATIONS.intersection(stored):
        metadata[relation] = {**metadata[relation], **rate_metadata(database, relation)}
    for event in events:
        key = keys_by_output[event.output_name] if isinstance(event, dg.Output) else None
        if key in RELATIONS:
            relation, _ = RELATIONS[key]
            extra = metadata.get(relation, {})
            event = event.with_metadata({**event.metadata, **extra, "relation": relation})
        yield event


WINDOW_ENV_VARS = ("SMARKETING_WINDOW_START", "SMARKETING_WINDOW_START_DATE")


def dbt_build_args(agreement: AgreementResource, window: LoadWindow | None) -> list[str]:
    """``dbt build`` arguments: the agreement as vars; a full refresh when the incremental models have
    no window to rebuild (their window goes by environment, ``dbt_window_env``)."""
    # Every criterion dbt computes comes from the agreement file, passed as vars (never a stale copy).
    # The same vars as `make manifest` parses with: other vars would make dbt parse the project again.
    dbt_vars = json.dumps(agreement.load().dbt_vars(), separators=(",", ":"))
    if window is None or window.start is None:
        # No partition, or a range from the first day: rebuild the incremental models from scratch.
        return ["build", "--full-refresh", "--vars", dbt_vars]
    return ["build", "--vars", dbt_vars]


def dbt_window_env(window: LoadWindow | None) -> dict[str, str]:
    """The window incremental models rebuild, as the environment variables the dbt project reads
    (macros/incremental.sql): rows at or after these bounds are rebuilt (timestamps naive UTC, ad days
    local dates). Empty without a window start: then they rebuild every row."""
    if window is None or window.start is None:
        return {}
    start_utc = window.start.astimezone(dt.UTC).replace(tzinfo=None)
    return dict(zip(WINDOW_ENV_VARS, (start_utc.isoformat(sep=" "), window.start.date().isoformat()), strict=True))


def _run_dbt(
    context: dg.AssetExecutionContext,
    assets_def: dg.AssetsDefinition,
    dbt: DbtCliResource,
    duckdb: DuckDBResource,
    args: list[str],
    window_env: dict[str, str] | None = None,
) -> Iterator[Any]:
    # The profile reads the warehouse path and DuckDB's settings from the environment dbt inherits.
    os.environ["SMARKETING_WAREHOUSE"] = duckdb.database
    os.environ.update(DuckDBSettings.from_env().env(duckdb.database))
    for name in WINDOW_ENV_VARS:
        os.environ.pop(name, None)
    os.environ.update(window_env or {})
    try:
        # Buffer dbt's events: the DuckDB file stays locked by dbt until the invocation ends.
        events = list(dbt.cli(args, context=context).stream())
    finally:
        for name in WINDOW_ENV_VARS:
            os.environ.pop(name, None)
    yield from _with_table_metadata(assets_def, events, Path(duckdb.database))


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    project=DBT_PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=SINGLE_RUN,
    pool=WAREHOUSE_POOL,
)
def smarketing_dbt(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, duckdb: DuckDBResource, agreement: AgreementResource
):
    # One invocation for every model (two used to cost a second dbt start-up, about 5 s at scale 10,
    # and left one thread idle at each end). The window goes to every model and test: the incremental
    # models rebuild it, and the raw web tables' uniqueness tests read the rows its load replaced
    # (macro get_where_subquery).
    window = load_window(context)
    if window is not None and window.start is not None:
        context.log.info("incremental build of %s from %s", ", ".join(DAILY_MODELS), window.start.isoformat())
    args = dbt_build_args(agreement, window)
    yield from _run_dbt(context, smarketing_dbt, dbt, duckdb, args, dbt_window_env(window))
