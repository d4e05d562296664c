"""The publish step of write-audit-publish: the audited marts become what BI reads.

``publish`` depends on every mart. It runs only when the marts were rebuilt and audited in the same run:
dbt's tests fail the dbt step, and the blocking Great Expectations checks fail theirs, and either stops
this asset, so the serving file keeps the last good publication byte for byte.

Dagster's blocking checks only hold back downstream assets *in the run that evaluated them*: a run that
selects ``publish`` alone (or after a failed audit, in a new run) would otherwise copy whatever the
warehouse holds. So before copying, ``publish`` reads its own run's event log and refuses unless every
mart was materialized in this run and every blocking check (GX hard rules, dbt tests of severity error)
on every asset the run materialized upstream of it was evaluated in this run and passed.
"""


from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.assets.dbt import RELATIONS
from orchestration.publish import manifest_path, publish_marts, publish_parquet
from orchestration.resources import WAREHOUSE_POOL, AgreementResource, ServingResource

MART_KEYS = sorted((k for k in RELATIONS if k.path[0] == "marts"), key=lambda k: k.to_user_string())
PUBLISH = dg.AssetKey("publish")


@dataclass(frozen=True)
class RunAudit:
    """What this run wrote and checked, against what publishing requires."""

    missing_marts: list[str]  # marts not materialized in this run
    failed_checks: list[str]  # blocking checks evaluated in this run that did not pass
    unevaluated_checks: list[str]  # blocking checks on assets of this run with no evaluation in it
    passed_checks: int

    @property
    def ok(self) -> bool:
        return not (self.missing_marts or self.failed_checks or self.unevaluated_checks)

    def describe(self, limit: int = 10) -> str:
        def listed(items: list[str]) -> str:
            more = f" and {len(items) - limit} more" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        parts = []
        if self.missing_marts:
            parts.append(f"marts not materialized in this run ({len(self.missing_marts)}): {listed(self.missing_marts)}")
        if self.failed_checks:
            parts.append(f"blocking checks failed ({len(self.failed_checks)}): {listed(self.failed_checks)}")
        if self.unevaluated_checks:
            parts.append(
                f"blocking checks not evaluated in this run ({len(self.unevaluated_checks)}): "
                f"{listed(self.unevaluated_checks)}"
            )
        return (
            "refusing to publish unaudited marts; the serving file keeps the last good publication. "
            + "; ".join(parts)
            + ". Publish only in a run that rebuilds the marts and passes their audit (e.g. the daily_refresh job)."
        )


def _name(check_key: dg.AssetCheckKey) -> str:
    return f"{check_key.asset_key.to_user_string()}:{check_key.name}"


def audit_run(instance: dg.DagsterInstance, run_id: str, asset_graph) -> RunAudit:
    """Read the run's event log: which assets it materialized and how its blocking checks ended."""
    materialized = instance.get_asset_keys_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    evaluations: dict[dg.AssetCheckKey, dg.AssetCheckEvaluation] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = entry.dagster_event.asset_check_evaluation_data
        evaluations[evaluation.asset_check_key] = evaluation  # the last word, if a check ran twice
    audited = materialized & (asset_graph.get_ancestor_asset_keys(PUBLISH) | set(MART_KEYS))
    failed, unevaluated, passed = [], [], 0
    for check_key in sorted(asset_graph.asset_check_keys, key=_name):
        if check_key.asset_key not in audited or not asset_graph.get_check_spec(check_key).blocking:
            continue
        evaluation = evaluations.get(check_key)
        if evaluation is None:
            unevaluated.append(_name(check_key))
        elif not evaluation.passed:
            failed.append(_name(check_key))
        else:
            passed += 1
    # A blocking check that failed in this run on anything upstream stops the publish too.
    for check_key, evaluation in evaluations.items():
        if (
            not evaluation.passed
            and _name(check_key) not in failed
            and check_key in asset_graph.asset_check_keys
            and asset_graph.get_check_spec(check_key).blocking
        ):
            failed.append(_name(check_key))
    return RunAudit(
        missing_marts=[k.to_user_string() for k in MART_KEYS if k not in materialized],
        failed_checks=sorted(failed),
        unevaluated_checks=unevaluated,
        passed_checks=passed,
    )


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
    # The asset graph of the job this run executes: every asset (and check spec) the run can contain.
    audit = audit_run(context.instance, context.run_id, context.job_def.asset_layer.asset_graph)
    if not audit.ok:
        raise dg.Failure(
            description=audit.describe(),
            metadata={
                "missing_marts": dg.MetadataValue.json(audit.missing_marts),
                "failed_blocking_checks": dg.MetadataValue.json(audit.failed_checks),
                "unevaluated_blocking_checks": dg.MetadataValue.json(audit.unevaluated_checks),
            },
            allow_retries=False,
        )
    context.log.info("audit of run %s: every mart rebuilt, %d blocking checks passed", context.run_id, audit.passed_checks)
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
            "blocking_checks_passed": audit.passed_checks,
            "published_at": publication.published_at,
            "storage_version": publication.storage_version,
            "agreement_version": publication.agreement_version or "",
            "tables": dg.MetadataValue.json(publication.tables),
            "dagster/row_count": sum(publication.tables.values()),
        }
    )
