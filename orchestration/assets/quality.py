"""Great Expectations suites as Dagster asset checks: hard rules block, soft rules warn.

One blocking check per suite (``<suite>_hard_rules``): when it fails, nothing downstream of its asset
runs in that run; in particular ``publish`` does not, so BI keeps the last good numbers. One warning
check per suite (``<suite>_soft_rules``). Suites are generated from the agreement (orchestration/quality.py).
Both checks of a suite run in one step (a multi-asset check), which reads the relation once.
"""


import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import quality
from orchestration.metadata import _markdown_table
from orchestration.partitions import load_window
from orchestration.resources import WAREHOUSE_POOL, AgreementResource, QualityResource

# suite name -> the asset it checks
CHECKED_ASSETS: dict[str, dg.AssetKey] = {
    "raw_crm_contacts": dg.AssetKey(["raw_crm", "contacts"]),
    "raw_web_sessions": dg.AssetKey(["raw_web", "sessions"]),
    "marts_fct_ad_spend_daily": dg.AssetKey(["marts", "fct_ad_spend_daily"]),
    "marts_fct_leads": dg.AssetKey(["marts", "fct_leads"]),
}


# Checked assets that are partitioned by day (raw loads, the incremental marts).
PARTITIONED_ASSETS = {
    dg.AssetKey(["raw_crm", "contacts"]),
    dg.AssetKey(["raw_web", "sessions"]),
    dg.AssetKey(["marts", "fct_ad_spend_daily"]),
}


def outcome_metadata(outcome: quality.SuiteOutcome) -> dict[str, dg.MetadataValue]:
    failed_rows = sum(f.unexpected_count or 0 for f in outcome.failed)
    summary = [
        (f.expectation, f.column, f.unexpected_count, f.unexpected_percent) for f in outcome.failed
    ]
    samples = [
        (f.expectation, f.column, ", ".join(f"{k}={v}" for k, v in row.items()))
        for f in outcome.failed
        for row in f.sample
    ]
    metadata: dict[str, dg.MetadataValue] = {
        "rows_checked": dg.MetadataValue.int(outcome.rows),
        "expectations": dg.MetadataValue.int(outcome.evaluated),
        "expectations_failed": dg.MetadataValue.int(len(outcome.failed)),
        "failing_values": dg.MetadataValue.int(failed_rows),
        "failures": dg.MetadataValue.md(
            _markdown_table(["expectation", "column", "failing rows", "% of rows"], summary) if summary else "none"
        ),
        "failing_rows_sample": dg.MetadataValue.md(
            _markdown_table(["expectation", "column", "row (e-mails and phones as shapes)"], samples)
            if samples else "none"
        ),
    }
    if outcome.data_docs is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(outcome.data_docs))
        metadata["data_docs_url"] = dg.MetadataValue.url(outcome.data_docs.resolve().as_uri())
    return metadata


def _description(hard: bool) -> str:
    return "Great Expectations, generated from agreement.yml: " + (
        "hard rules; a failure stops everything downstream, including the publish." if hard
        else "soft rules; a failure warns and the run goes on."
    )  # fmt: skip


def _checks(suite_name: str, asset_key: dg.AssetKey) -> dg.AssetChecksDefinition:
    """The suite's two checks, ``<suite>_hard_rules`` (blocking) and ``<suite>_soft_rules``, in one step.

    One step reads the relation once (only the columns either severity uses) and runs GX once per
    severity on it; when only one of the two checks is selected, only its columns and rules are run.
    """
    checks_partitioned = asset_key in PARTITIONED_ASSETS
    specs = {
        severity: dg.AssetCheckSpec(
            name=f"{suite_name}_{severity}_rules",
            asset=asset_key,
            blocking=severity == "hard",
            description=_description(severity == "hard"),
        )
        for severity in quality.SEVERITIES
    }

    @dg.multi_asset_check(
        name=f"{suite_name}_rules",
        specs=list(specs.values()),
        can_subset=True,
        pool=WAREHOUSE_POOL,
        description=f"Great Expectations, generated from agreement.yml: the hard and soft rules on {suite_name}.",
    )
    def _run(
        context: dg.AssetCheckExecutionContext,
        duckdb: DuckDBResource,
        agreement: AgreementResource,
        quality_docs: QualityResource,
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        severities = tuple(s for s in quality.SEVERITIES if specs[s].key in selected)
        terms = agreement.load()
        warehouse = Path(duckdb.database)
        today = dt.datetime.now(ZoneInfo(terms.reporting.timezone)).date()
        suites = quality.build_suites(terms, today, quality.known_currencies(warehouse, terms.reporting.currency))
        suite = suites[suite_name]
        # In a daily run, a partitioned asset's check reads the run's window (late days included).
        window = load_window(context.op_execution_context) if checks_partitioned else None
        since = window.start.astimezone(dt.UTC).replace(tzinfo=None) if window and window.start else None
        df = quality.read_relation(warehouse, suite, since, severities)
        for severity in severities:
            hard = severity == "hard"
            docs_dir = Path(quality_docs.docs_dir) / context.run.run_id / f"{suite_name}_{severity}"
            outcome = quality.run_suite(df, suite, severity, docs_dir)
            context.log.info(
                "%s %s rules: %s (%d of %d expectations failed)", suite_name, severity,
                "passed" if outcome.success else "FAILED", len(outcome.failed), outcome.evaluated,
            )
            yield dg.AssetCheckResult(
                asset_key=asset_key,
                check_name=specs[severity].name,
                passed=outcome.success,
                severity=dg.AssetCheckSeverity.ERROR if hard else dg.AssetCheckSeverity.WARN,
                metadata={
                    **outcome_metadata(outcome),
                    "agreement_version": str(terms.version),
                    "rows_from": since.isoformat() if since else "all",
                },
            )

    return _run


# One definition per suite, each holding its hard and its soft check (8 checks in all).
quality_checks = [_checks(name, key) for name, key in CHECKED_ASSETS.items()]
