"""Great Expectations suites generated from the agreement, and how to run one on a DuckDB relation.

No Dagster here: ``orchestration/assets/quality.py`` wraps each suite in an asset check. GX 1.x has no
DuckDB datasource, so a suite validates a pandas DataFrame read from the warehouse. Personal data never
reaches GX: e-mail and phone columns are replaced by their *shape* before validation (letters -> ``x``,
digits -> ``9``, everything else kept), which is all a format rule needs, so neither the check metadata
nor the Data Docs HTML can show a real address or number.

At scale (millions of rows) the work is kept lean: one read per suite serves its hard and soft rules,
only the columns the rules use are read, the shaping takes a fast path for ASCII values (``shape_column``,
value for value ``shape``'s result), and each GX run sees only its own columns, in dtypes GX compares
at once rather than value by value.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import logging
import os
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ingestion.warehouse import connect as connect_warehouse
from orchestration.agreement import JOB_ROLES, Agreement

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TQDM_DISABLE", "1")
import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine import pandas_execution_engine as _gx_pandas_engine
from great_expectations.expectations.metrics.map_metric_provider import (
    map_condition_auxilliary_methods as _gx_map_conditions,
)

logging.getLogger("great_expectations").setLevel(logging.WARNING)


def _only_the_reported_unexpected_indices(compute: Any) -> Any:
    """Wrap GX's ``compute_unexpected_pandas_indices`` to look up only the rows it will report.

    GX (1.x, pandas) builds the id of *every* failing row with one ``DataFrame.at`` lookup per row and
    value, then keeps the first ``partial_unexpected_count`` unless the result format is COMPLETE: a soft
    rule failing on a quarter of ten million rows spends minutes on ids it throws away. Given only the
    first rows of the same frame it returns the same first ids (rows in frame order, unnamed index). Any
    other case (COMPLETE, named indexes, ``exclude_unexpected_values``) goes to GX untouched.
    """

    @functools.wraps(compute)
    def first_rows_only(*args: Any, **kwargs: Any) -> Any:
        df, result_format = kwargs.get("domain_records_df"), kwargs.get("result_format")
        limit = result_format.get("partial_unexpected_count") if isinstance(result_format, dict) else None
        if (
            not args
            and isinstance(df, pd.DataFrame)
            and result_format.get("result_format") in ("BOOLEAN_ONLY", "BASIC", "SUMMARY")  # type: ignore[union-attr]
            and not result_format.get("exclude_unexpected_values")  # type: ignore[union-attr]
            and isinstance(limit, int) and limit >= 0
            and df.index.names == [None]
        ):  # fmt: skip
            kwargs["domain_records_df"] = df.iloc[:limit]
        return compute(*args, **kwargs)

    first_rows_only.smarketing_wrapped = True  # type: ignore[attr-defined]
    return first_rows_only


if not getattr(_gx_map_conditions.compute_unexpected_pandas_indices, "smarketing_wrapped", False):
    _gx_map_conditions.compute_unexpected_pandas_indices = _only_the_reported_unexpected_indices(
        _gx_map_conditions.compute_unexpected_pandas_indices
    )
# GX fingerprints (hashes) every DataFrame under 1 GB it validates, for the Data Docs' batch markers; a
# larger one it does not. Nothing reads the fingerprint, and at a million rows it costs more than the
# rules themselves (2 s of 3 for the sessions' hard rules): never compute it.
_gx_pandas_engine.HASH_THRESHOLD = 0

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


LETTER = r"[^\W\d_]"  # Python: any Unicode letter (also numerals that are not decimal digits, e.g. ²)


def shape(value: Any) -> Any:
    """``Jose.Garcia@gmail.com`` -> ``xxxx.xxxxxx@xxxxx.xxx``; ``+34 612`` -> ``+99 999``; None stays None."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return re.sub(r"[0-9]", "9", re.sub(LETTER, "x", str(value)))


# ASCII letters are exactly the ASCII characters LETTER matches; ASCII digits are [0-9].
_ASCII_SHAPE = str.maketrans(string.ascii_letters + string.digits, "x" * 52 + "9" * 10)


def shape_column(values: pd.Series) -> pd.Series:
    """``shape`` of every value, as an object column (None for missing), about eight times faster.

    A pure-ASCII value (nearly every e-mail and phone) is shaped with one ``str.translate``; any other
    value goes through ``shape`` itself, so the result is ``shape``'s, value for value. (Measured on 100,000
    e-mails: ``shape`` 0.9 s, this 0.1 s; DuckDB's ``regexp_replace`` 1.1 s and ``translate`` 1.0 s, so the
    shaping does not run in SQL.)
    """
    shaped = [
        None if v is None or (isinstance(v, float) and pd.isna(v))
        else v.translate(_ASCII_SHAPE) if isinstance(v, str) and v.isascii() else shape(v)
        for v in values.to_numpy(dtype=object, na_value=None)
    ]  # fmt: skip
    return pd.Series(shaped, index=values.index, dtype=object, name=values.name)


@dataclass(frozen=True)
class Suite:
    """One relation's rules: hard ones block the publish, soft ones warn."""

    name: str  # e.g. raw_crm_contacts
    relation: str  # schema.table in the warehouse
    id_column: str
    query: str  # what may be read: only the columns the rules use are (personal ones shaped after reading)
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


SEVERITIES = ("hard", "soft")


def _expectations(suite: Suite, severities: tuple[str, ...] = SEVERITIES) -> list[gxe.Expectation]:
    return [e for severity in severities for e in (suite.hard if severity == "hard" else suite.soft)]


def needed_columns(suite: Suite, available: list[str], severities: tuple[str, ...] = SEVERITIES) -> list[str]:
    """The columns of ``available`` (in their order) that the rules of ``severities`` use.

    The id column (failing rows are reported by id) and every column a rule's configuration mentions: any
    word of its arguments (column, column_A/B, column_list, the row condition's text...) equal to a column
    name. A word that only looks like one (a value in a set) costs a column, never a wrong result.
    """
    used = {suite.id_column}

    def words(value: Any) -> None:
        if isinstance(value, str):
            used.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", value))
        elif isinstance(value, dict):
            for v in value.values():
                words(v)
        elif isinstance(value, (list, tuple, set)):
            for v in value:
                words(v)

    for expectation in _expectations(suite, severities):
        words(expectation.configuration.kwargs)
    return [c for c in available if c in used]


def _vectorizable(df: pd.DataFrame) -> pd.DataFrame:
    """The same values in dtypes GX compares vectorized instead of calling Python per value.

    GX's "between" rule compares a column at once only when its dtype is ``int``/``float`` (int64,
    float64) or datetime64[ns]; DuckDB hands over datetime64[us] and int32, which GX checks value by value
    (7 s per million timestamps). Integers widen to int64 exactly; timestamps convert to nanoseconds
    unless one is outside its range (years 1677-2262), then the column stays as it was (slow, same result).
    """
    changes = {}
    for column, dtype in df.dtypes.items():
        if isinstance(dtype, np.dtype) and dtype.kind == "i" and dtype.itemsize < 8:
            changes[column] = df[column].astype("int64")
        elif isinstance(dtype, np.dtype) and dtype.kind == "M" and dtype != np.dtype("datetime64[ns]"):
            try:
                changes[column] = df[column].astype("datetime64[ns]")
            except (pd.errors.OutOfBoundsDatetime, OverflowError):
                pass
    return df.assign(**changes) if changes else df


_NULLABLE = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(), pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(), pa.bool_(): pd.BooleanDtype(),
}  # fmt: skip


def _arrow_convertible(kind: pa.DataType) -> bool:
    return (
        kind in _NULLABLE or pa.types.is_floating(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind)
        or pa.types.is_date(kind) or pa.types.is_timestamp(kind)
    )  # fmt: skip


def fetch_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    """The DataFrame DuckDB's ``.df()`` gives (same dtypes, same values), fetched through Arrow.

    Through Arrow the strings do not become Python objects on the way: a million sessions take 0.3 s
    and 200 MB beyond the frame itself, against 1.2 s and 530 MB. Arrow's defaults differ from ``.df()``
    in a few types, mapped back here: integers and booleans with nulls (``.df()``: nullable ``Int32``,
    ``boolean``...; without nulls numpy's), dates (``.df()``: datetime64[us]). A result with any other
    type (decimals, intervals, lists...) is read with ``.df()`` itself.
    """
    # Strings as Arrow large_string, what pandas keeps them as: otherwise to_pandas copies every string
    # column (at ten million sessions: 165 MB more at the peak, 1 s more). Changes only Arrow exports;
    # the setting stays on ``con``.
    con.execute("set arrow_large_buffer_size = true")
    table = con.execute(sql, params or []).to_arrow_table()
    if not all(_arrow_convertible(f.type) for f in table.schema):
        return con.execute(sql, params or []).df()
    df = table.to_pandas(date_as_object=False, types_mapper=_NULLABLE.get)
    changes = {}
    for arrow_field in table.schema:
        name, kind = arrow_field.name, arrow_field.type
        if pa.types.is_date(kind):
            changes[name] = df[name].astype("datetime64[us]")
        elif kind in _NULLABLE and not table.column(name).null_count:
            changes[name] = df[name].astype(kind.to_pandas_dtype())
    return df.assign(**changes) if changes else df


def read_relation(
    warehouse: Path, suite: Suite, since: dt.datetime | None = None, severities: tuple[str, ...] = SEVERITIES
) -> pd.DataFrame:
    """The suite's rows, only the columns its ``severities`` rules use, e-mails and phones as shapes.

    With ``since`` (naive UTC) and a window column, only the rows from then on.
    """
    inner, params = suite.query, []
    if since is not None and suite.window_column:
        inner = f"{inner} where {suite.window_column} >= cast(? as timestamp)"  # queries end at their FROM
        params = [since]
    with connect_warehouse(warehouse, read_only=True) as con:
        available = [d[0] for d in con.execute(f"select * from ({suite.query}) as q limit 0").description]
        columns = ", ".join(_quote(c) for c in needed_columns(suite, available, severities))
        df = fetch_frame(con, f"select {columns} from ({inner}) as q", params)
    for column in PERSONAL_COLUMNS:
        if column in df.columns:
            df[column] = shape_column(df[column])
    return _vectorizable(df)


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


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
    # Only this severity's columns (a lazy copy: no data copied): GX filters and copies the whole frame
    # it is given several times per rule, and fingerprints it.
    df = _vectorizable(df[needed_columns(suite, list(df.columns), (severity,))])
    context = gx.get_context(mode="ephemeral")
    # No "Calculating Metrics" progress bars on stderr: runs log to Dagster, and `make demo` prints a summary.
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
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
