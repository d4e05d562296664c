"""Great Expectations suites generated from the agreement, and how to run one on a DuckDB relation.

No Dagster here: ``orchestration/assets/checks.py`` wraps each suite in an asset check. GX 1.x has no
DuckDB datasource, so a suite validates a pandas DataFrame read from the warehouse. Personal data never
reaches GX: e-mail and phone columns are replaced by their *shape* before validation (letters -> ``x``,
digits -> ``9``, everything else kept), which is all a format rule needs, so neither the check metadata
nor the Data Docs HTML can show a real address or number.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ingestion.warehouse import connect as connect_warehouse
from orchestration.agreement import JOB_ROLES, Agreement

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")
import great_expectations as gx
import great_expectations.expectations as gxe

logging.getLogger("great_expectations").setLevel(logging.WARNING)

PERSONAL_COLUMNS = ("email", "phone")
SAMPLE_ROWS = 5
LIFECYCLE_STAGES = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                    "customer", "evangelist", "other"]  # fmt: skip
LEAD_STATUSES = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "CONNECTED", "UNQUALIFIED", "BAD_TIMING",
                 "ATTEMPTED_TO_CONTACT"]  # fmt: skip
DEVICE_CATEGORIES = ["desktop", "mobile", "tablet"]
# On the shape of an e-mail (letters x, digits 9): something@domain.tld, no spaces.
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$"
# On the shape of a phone as typed: optional +, 8 to 15 digits, spaces, dashes, dots or brackets.
PHONE_SHAPE = r"^\+?[9 ().-]{8,24}$"
PHONE_DIGITS = r"^9{8,15}$"


def shape(value: Any) -> Any:
    """``Jose.Garcia@gmail.com`` -> ``xxxx.xxxxxx@xxxxx.xxx``; ``+34 612`` -> ``+99 999``; None stays None."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return re.sub(r"[0-9]", "9", re.sub(r"[^\W\d_]", "x", str(value)))


@dataclass(frozen=True)
class Suite:
    """One relation's rules: hard ones block the publish, soft ones warn."""

    name: str  # e.g. raw_crm_contacts
    relation: str  # schema.table in the warehouse
    id_column: str
    query: str  # what is read (personal columns are shaped in Python after reading)
    # A daily run checks only the rows of its window (full refreshes check everything): this column,
    # at or after the window start. None: always the whole relation.
    window_column: str | None = None
    hard: list[gxe.Expectation] = field(default_factory=list)
    soft: list[gxe.Expectation] = field(default_factory=list)


def _mql(column: str, values: list[Any], condition: str, **kw: Any) -> gxe.Expectation:
    return gxe.ExpectColumnValuesToBeInSet(
        column=column, value_set=values, row_condition=condition, condition_parser="pandas", **kw
    )


def build_suites(agreement: Agreement, today: dt.date, currencies: list[str]) -> dict[str, Suite]:
    """Every suite, generated from the agreement. ``today`` bounds "not in the future" rules."""
    q = agreement.qualification
    s = agreement.sales_commitments
    later_than_today = pd.Timestamp(today + dt.timedelta(days=1))
    suites = [
        Suite(
            name="raw_crm_contacts",
            relation="raw_crm.contacts",
            id_column="contact_id",
            query="select contact_id, email, phone, company_id, job_role, country, original_source, "
            "lifecycle_stage, lead_status, created_at, became_lead_at, became_mql_at, disqualified_at, "
            "disqualification_reason from raw_crm.contacts",
            window_column="updated_at",
            hard=[
                gxe.ExpectColumnValuesToNotBeNull(column="contact_id"),
                gxe.ExpectColumnValuesToBeUnique(column="contact_id"),  # no duplicate lead after merges
                gxe.ExpectColumnValuesToNotBeNull(column="created_at"),
                gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_SHAPE),
                gxe.ExpectColumnValuesToMatchRegex(column="phone", regex=PHONE_SHAPE),
                gxe.ExpectColumnValuesToBeInSet(column="job_role", value_set=list(JOB_ROLES)),
                gxe.ExpectColumnValuesToBeInSet(column="lifecycle_stage", value_set=LIFECYCLE_STAGES),
                gxe.ExpectColumnValuesToBeInSet(column="lead_status", value_set=LEAD_STATUSES),
                gxe.ExpectColumnValuesToMatchRegex(column="country", regex=r"^[A-Za-z]{2}$"),
            ],
            soft=[
                # What sales must receive with a lead (qualification.required_fields).
                *([gxe.ExpectColumnValuesToNotBeNull(column="original_source")] if "source" in q.required_fields else []),
                *([gxe.ExpectColumnValuesToNotBeNull(column="company_id")] if "company" in q.required_fields else []),
                # Sales' reasons come from the agreed list (sales_commitments.rejection_reasons).
                gxe.ExpectColumnValuesToBeInSet(column="disqualification_reason", value_set=list(s.rejection_reasons)),
                gxe.ExpectColumnValuesToNotBeNull(
                    column="disqualification_reason", row_condition="disqualified_at.notnull()",
                    condition_parser="pandas",
                ),
            ],
        ),
        Suite(
            name="raw_web_sessions",
            relation="raw_web.sessions",
            id_column="session_id",
            query="select session_id, anonymous_id, session_started_at, session_ended_at, device_category, "
            "geo_country, page_view_count from raw_web.sessions",
            window_column="session_started_at",
            hard=[
                gxe.ExpectColumnValuesToNotBeNull(column="session_id"),
                gxe.ExpectColumnValuesToBeUnique(column="session_id"),
                gxe.ExpectColumnValuesToNotBeNull(column="anonymous_id"),
                gxe.ExpectColumnValuesToNotBeNull(column="session_started_at"),
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="session_ended_at", column_B="session_started_at", or_equal=True,
                    ignore_row_if="either_value_is_missing",
                ),
                gxe.ExpectColumnValuesToBeBetween(column="session_started_at", max_value=later_than_today),
            ],
            soft=[
                gxe.ExpectColumnValuesToBeInSet(column="device_category", value_set=DEVICE_CATEGORIES),
                gxe.ExpectColumnValuesToMatchRegex(column="geo_country", regex=r"^[A-Z]{2}$"),
                gxe.ExpectColumnValuesToBeBetween(column="page_view_count", min_value=1),
            ],
        ),
        Suite(
            name="marts_fct_ad_spend_daily",
            relation="marts.fct_ad_spend_daily",
            id_column="ad_spend_id",
            query="select ad_spend_id, date_day, account_currency, impressions, clicks, "
            "cast(spend_account_currency as double) as spend_account_currency, "
            "cast(spend_reporting as double) as spend_reporting from marts.fct_ad_spend_daily",
            window_column="date_day",
            hard=[
                gxe.ExpectColumnValuesToBeBetween(column="spend_account_currency", min_value=0),
                gxe.ExpectColumnValuesToBeBetween(column="spend_reporting", min_value=0),
                gxe.ExpectColumnValuesToBeInSet(column="account_currency", value_set=currencies),
                gxe.ExpectColumnValuesToNotBeNull(column="date_day"),
                gxe.ExpectColumnValuesToBeBetween(column="date_day", max_value=pd.Timestamp(today)),
            ],
            soft=[
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="impressions", column_B="clicks", or_equal=True),
                gxe.ExpectColumnValuesToBeBetween(column="clicks", min_value=0),
            ],
        ),
        Suite(
            name="marts_fct_leads",
            relation="marts.fct_leads",
            id_column="lead_id",
            query="select lead_id, lead_at, mql_at, qualified_at, cast(fit_score as double) as fit_score, "
            "engagement_events, meets_fit_score, meets_engagement, meets_required_fields, has_valid_contact, "
            "has_company, has_consent, has_source, is_mql, is_handed_to_sales, first_contact_due_at, "
            "first_sales_contact_at, follow_up_due_at, decision_due_at, sales_decision, sales_decided_at, "
            "is_agreed_rejection_reason, first_contact_sla from marts.fct_leads",
            hard=[
                gxe.ExpectColumnValuesToNotBeNull(column="lead_id"),
                gxe.ExpectColumnValuesToBeUnique(column="lead_id"),
                gxe.ExpectColumnValuesToBeBetween(column="fit_score", min_value=0, max_value=100),
                # Every MQL meets every criterion of the agreement.
                gxe.ExpectColumnValuesToBeBetween(
                    column="fit_score", min_value=q.mql_fit_score, row_condition="is_mql == True",
                    condition_parser="pandas",
                ),
                gxe.ExpectColumnValuesToBeBetween(
                    column="engagement_events", min_value=q.engagement.min_events, row_condition="is_mql == True",
                    condition_parser="pandas",
                ),
                *[_mql(f"has_{f}", [True], "is_mql == True") for f in q.required_fields],
                _mql("meets_fit_score", [True], "is_mql == True"),
                _mql("meets_engagement", [True], "is_mql == True"),
                gxe.ExpectColumnValuesToNotBeNull(column="qualified_at", row_condition="is_mql == True",
                                                  condition_parser="pandas"),
                # SLA timestamps in order.
                gxe.ExpectColumnValuesToNotBeNull(column="first_contact_due_at",
                                                  row_condition="is_handed_to_sales == True", condition_parser="pandas"),
                *[
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A=a, column_B=b, or_equal=eq, ignore_row_if="either_value_is_missing"
                    )
                    for a, b, eq in [
                        ("qualified_at", "lead_at", True),
                        ("mql_at", "lead_at", True),
                        ("first_contact_due_at", "mql_at", False),
                        ("follow_up_due_at", "mql_at", False),
                        ("decision_due_at", "mql_at", False),
                        ("first_sales_contact_at", "mql_at", True),
                        ("sales_decided_at", "mql_at", True),
                    ]
                ],
            ],
            soft=[
                # No lead handed to sales without the required fields; marketing's side of the deal.
                _mql("meets_required_fields", [True], "is_handed_to_sales == True"),
                _mql("is_agreed_rejection_reason", [True], "sales_decision == 'rejected'"),
                _mql("first_contact_sla", ["met", "pending"], "is_handed_to_sales == True"),
            ],
        ),
    ]
    return {suite.name: suite for suite in suites}


@dataclass
class FailedExpectation:
    expectation: str
    column: str | None
    unexpected_count: int | None
    unexpected_percent: float | None
    sample: list[dict[str, Any]]  # ids and (shaped) values of failing rows


@dataclass
class SuiteOutcome:
    suite: str
    severity: str  # hard or soft
    success: bool
    rows: int
    evaluated: int
    failed: list[FailedExpectation]
    data_docs: Path | None


def read_relation(warehouse: Path, suite: Suite, since: dt.datetime | None = None) -> pd.DataFrame:
    """The suite's rows; with ``since`` (naive UTC) and a window column, only the rows from then on."""
    query, params = suite.query, []
    if since is not None and suite.window_column:
        query = f"{query} where {suite.window_column} >= cast(? as timestamp)"  # queries end at their FROM
        params = [since]
    with connect_warehouse(warehouse, read_only=True) as con:
        df = con.execute(query, params).df()
    for column in PERSONAL_COLUMNS:
        if column in df.columns:
            df[column] = df[column].map(shape).astype(object)
    return df


def _clean(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    return value


def run_suite(df: pd.DataFrame, suite: Suite, severity: str, docs_dir: Path | None) -> SuiteOutcome:
    """Validate ``df`` with the suite's hard or soft expectations; Data Docs HTML into ``docs_dir``."""
    expectations = suite.hard if severity == "hard" else suite.soft
    name = f"{suite.name}_{severity}"
    context = gx.get_context(mode="ephemeral")
    if docs_dir is not None:
        context.add_data_docs_site(
            site_name="smarketing",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    batch = context.data_sources.add_pandas("warehouse").add_dataframe_asset(suite.relation)
    definition = batch.add_batch_definition_whole_dataframe("whole_table")
    gx_suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=[copy.deepcopy(e) for e in expectations]))
    validation = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=definition, suite=gx_suite))
    actions = [gx.checkpoint.UpdateDataDocsAction(name="data_docs", site_names=["smarketing"])] if docs_dir else []
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=name,
            validation_definitions=[validation],
            actions=actions,
            result_format={
                "result_format": "SUMMARY",
                "unexpected_index_column_names": [suite.id_column],
                "partial_unexpected_count": SAMPLE_ROWS,
            },
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": df})
    validation_result = next(iter(result.run_results.values()))
    failed = []
    for r in validation_result.results:
        if r.success:
            continue
        kwargs = r.expectation_config.kwargs
        res = r.result or {}
        sample = [
            {k: _clean(v) for k, v in (row.items() if isinstance(row, dict) else [(suite.id_column, row)])}
            for row in (res.get("partial_unexpected_index_list") or [])[:SAMPLE_ROWS]
        ]
        if not sample and res.get("partial_unexpected_list"):
            sample = [{"value": _clean(v)} for v in res["partial_unexpected_list"][:SAMPLE_ROWS]]
        failed.append(
            FailedExpectation(
                expectation=r.expectation_config.type,
                column=kwargs.get("column") or (f'{kwargs.get("column_A")} > {kwargs.get("column_B")}' if "column_A" in kwargs else None),
                unexpected_count=res.get("unexpected_count"),
                unexpected_percent=round(float(res["unexpected_percent"]), 3) if res.get("unexpected_percent") is not None else None,
                sample=sample,
            )
        )
    docs = docs_dir / "index.html" if docs_dir is not None and (docs_dir / "index.html").exists() else None
    return SuiteOutcome(
        suite=suite.name,
        severity=severity,
        success=bool(validation_result.success),
        rows=len(df),
        evaluated=len(expectations),
        failed=failed,
        data_docs=docs,
    )


def known_currencies(warehouse: Path, reporting_currency: str) -> list[str]:
    """Currencies the FX seed can convert, plus the reporting currency."""
    with connect_warehouse(warehouse, read_only=True) as con:
        try:
            rows = con.execute("select distinct currency_code from seeds.fx_rates").fetchall()
        except duckdb.CatalogException:
            rows = []
    return sorted({r[0] for r in rows} | {reporting_currency})
