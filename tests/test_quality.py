"""The Great Expectations checks' lean path gives the results of the plain one.

orchestration/quality.py reads a suite's relation once (only the columns its rules use, through Arrow),
shapes e-mails and phones with a fast path, hands GX dtypes it compares vectorized and asks GX for the
ids of the reported failing rows only. Each shortcut is checked here against the plain computation;
the Dagster side (one step per suite, hard check blocking, soft check warning) runs on a tiny warehouse.
"""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path

import dagster as dg
import duckdb
import great_expectations.expectations as gxe
import numpy as np
import pandas as pd
import pytest
from dagster_duckdb import DuckDBResource

from orchestration import quality
from orchestration.agreement import DEFAULT_AGREEMENT_PATH, load_agreement
from orchestration.assets.quality import quality_checks
from orchestration.resources import AgreementResource, QualityResource

TRICKY = [
    "José.Núñez@correo.es", "+34 (612) 345-678", None, "", "ÅSA_ø@firma.dk", "x²³¹@a.com", "٣٤٥ 678",
    "Ⅻ", "e\u0301", "a\xa0b@c.de", "ＡＢ１２@例え.jp", "你好@例子.公司", "line\n", "  ", "_", "user+tag@x.io",
    float("nan"), "ß@ü.de", "ǅ", "ª", "µ",
]  # fmt: skip


def _agreement():
    return load_agreement(DEFAULT_AGREEMENT_PATH)


def _suites():
    return quality.build_suites(_agreement(), dt.date(2026, 1, 1), ["EUR", "GBP", "USD"])


def test_shape_column_equals_shape_value_for_value():
    every_char = [chr(c) for c in range(0x300)] + ["a" + chr(c) + "1" for c in range(0x80, 0x300)]
    values = TRICKY + every_char + [string.printable, "José" * 50]
    got = quality.shape_column(pd.Series(values, dtype=object)).tolist()
    assert got == [quality.shape(v) for v in values]
    assert got[:3] == ["xxxx.xxxxx@xxxxxx.xx", "+99 (999) 999-999", None]
    # The same from the string dtype DuckDB hands over (missing values are NaN there).
    as_str = pd.Series(TRICKY, dtype="str")
    assert quality.shape_column(as_str).tolist() == [quality.shape(v) for v in TRICKY]


def test_fetch_frame_gives_what_duckdb_df_gives():
    query = """select * from (values
     (1, 1::tinyint, 1::smallint, 1::int, null::int, 1.5::double, null::double, true, null::boolean,
      date '2025-01-02', null::date, timestamp '2025-01-01 10:00:00.123456', null::timestamp,
      timestamptz '2025-01-01 10:00:00+00', 'a', null::varchar, 9223372036854775807::bigint,
      18446744073709551615::ubigint, timestamp_ns '2025-01-01 00:00:00.000000001', date '9999-12-31',
      timestamp '9999-01-01', timestamp_s '2025-01-01 00:00:01', timestamp_ms '2025-01-01 00:00:01.123', 1.5::float),
     (2, 2::tinyint, 2::smallint, 2::int, 3::int, null, 2.5, false, false, date '2025-01-03', date '2025-01-04',
      null, timestamp '2025-01-01', null, null, 'b', -9223372036854775807, null, null, null, null, null, null, null)
    ) t(id, ti, si, i, ni, d, nd, b, nb, dt, ndt, ts, nts, tstz, s, ns, big, ub, tns, bigdate, bigts, tss, tsms, f)"""
    with duckdb.connect() as con:
        pd.testing.assert_frame_equal(quality.fetch_frame(con, query), con.execute(query).df())
        decimals = "select 1.25::decimal(6, 2) as amount, 3::hugeint as huge"  # read with .df() itself
        pd.testing.assert_frame_equal(quality.fetch_frame(con, decimals), con.execute(decimals).df())


def _query_columns(suite: quality.Suite) -> list[str]:
    select = suite.query.split(" from ")[0].removeprefix("select ")
    return [c.strip().split(" as ")[-1] for c in select.split(",")]


def test_each_suite_reads_every_column_its_rules_use():
    suites = _suites()
    for suite in suites.values():
        available = _query_columns(suite)
        for severity in quality.SEVERITIES:
            expectations = suite.hard if severity == "hard" else suite.soft
            named = {suite.id_column}
            for e in expectations:
                named |= {e.configuration.kwargs[k] for k in ("column", "column_A", "column_B") if k in e.configuration.kwargs}
            conditions = " ".join(str(e.configuration.kwargs.get("row_condition") or "") for e in expectations)
            named |= {c for c in available if f"{c} " in conditions or f"{c}." in conditions}
            assert named <= set(quality.needed_columns(suite, available, (severity,))), (suite.name, severity)
        assert set(quality.needed_columns(suite, available)) == set(
            quality.needed_columns(suite, available, ("hard",)) + quality.needed_columns(suite, available, ("soft",))
        )
    contacts = _query_columns(suites["raw_crm_contacts"])
    assert "became_lead_at" not in quality.needed_columns(suites["raw_crm_contacts"], contacts)  # no rule uses it
    # A row condition's column is read for the rules that have it.
    assert "disqualified_at" in quality.needed_columns(suites["raw_crm_contacts"], contacts, ("soft",))
    assert "disqualified_at" not in quality.needed_columns(suites["raw_crm_contacts"], contacts, ("hard",))
    assert "is_mql" in quality.needed_columns(suites["marts_fct_leads"], _query_columns(suites["marts_fct_leads"]), ("hard",))


def _suite(hard, soft=()) -> quality.Suite:
    return quality.Suite(name="t", relation="t", id_column="id", query="select * from t", hard=list(hard), soft=list(soft))


def _plain(monkeypatch, df, suite, severity):
    """The suite run the plain way: every column as given, GX computing every failing row's id."""
    monkeypatch.setattr(quality, "_vectorizable", lambda frame: frame)
    monkeypatch.setattr(quality, "needed_columns", lambda suite, available, severities=(): list(available))
    wrapped = quality._gx_map_conditions.compute_unexpected_pandas_indices
    monkeypatch.setattr(quality._gx_map_conditions, "compute_unexpected_pandas_indices", wrapped.__wrapped__)
    try:
        return quality.run_suite(df, suite, severity, None)
    finally:
        monkeypatch.undo()


def test_lean_gx_run_reports_what_the_plain_run_reports(monkeypatch):
    n = 3000
    rng = np.random.default_rng(7)
    started = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")
    df = pd.DataFrame({
        "id": [f"s{i}" for i in range(n)],
        "started": started.as_unit("us"),
        "ended": (started + pd.to_timedelta(rng.integers(-100, 1000, n), unit="s")).as_unit("us"),
        "views": rng.integers(-2, 5, n).astype("int32"),
        "flag": rng.integers(0, 2, n).astype(bool),
        "kind": rng.choice(["a", "b", "c", None], n),
        "unused": 1.0,
    })  # fmt: skip
    df.loc[[5, 17], "started"] = pd.NaT
    later = pd.Timestamp("2025-01-08")
    rules = [
        gxe.ExpectColumnValuesToBeBetween(column="started", max_value=later),
        gxe.ExpectColumnValuesToBeBetween(column="views", min_value=1),
        gxe.ExpectColumnValuesToBeBetween(column="views", min_value=0, max_value=3, row_condition="flag == True",
                                          condition_parser="pandas"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="ended", column_B="started", or_equal=True,
                                                    ignore_row_if="either_value_is_missing"),
        gxe.ExpectColumnValuesToBeInSet(column="kind", value_set=["a", "b"]),
        gxe.ExpectColumnValuesToNotBeNull(column="kind"),
        gxe.ExpectColumnValuesToBeUnique(column="kind"),
    ]  # fmt: skip
    suite = _suite(rules[:4], rules[4:])
    for severity in quality.SEVERITIES:
        lean = quality.run_suite(df, suite, severity, None)
        plain = _plain(monkeypatch, df, suite, severity)
        assert lean == plain
        assert not lean.success and all(f.unexpected_count and len(f.sample) == quality.SAMPLE_ROWS for f in lean.failed)


def test_a_timestamp_out_of_nanosecond_range_is_still_checked():
    df = pd.DataFrame({"id": ["a", "b", "c"],
                       "at": pd.to_datetime(["2025-01-01", "9999-01-01", "2025-01-02"]).as_unit("us")})  # fmt: skip
    suite = _suite([gxe.ExpectColumnValuesToBeBetween(column="at", max_value=pd.Timestamp("2026-01-01"))])
    outcome = quality.run_suite(df, suite, "hard", None)
    assert not outcome.success
    assert [(f.unexpected_count, f.sample) for f in outcome.failed] == [(1, [{"at": "9999-01-01 00:00:00", "id": "b"}])]


def _tiny_warehouse(path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema raw_web; create schema raw_crm; create schema seeds")
        con.execute("create table seeds.fx_rates as select 'EUR' as currency_code")
        con.execute("""create table raw_web.sessions as select * from (values
            ('s1', 'a1', timestamp '2025-01-01 10:00', timestamp '2025-01-01 10:05', 'desktop', 'ES', 3),
            ('s1', 'a2', timestamp '2025-01-02 10:00', timestamp '2025-01-02 10:01', 'toaster', 'ES', 1),
            ('s3', 'a3', timestamp '2025-01-03 10:00', null, 'mobile', 'GB', 1)
        ) t(session_id, anonymous_id, session_started_at, session_ended_at, device_category, geo_country, page_view_count)""")
        con.execute("""create table raw_crm.contacts as select * from (values
            ('c1', 'José.Núñez@correo.es', '+34 (612) 345-678', 'co1', 'manager', 'ES', 'ads', 'lead', 'NEW',
             timestamp '2025-01-01', null::timestamp, null::timestamp, null::timestamp, null::varchar, timestamp '2025-01-01'),
            ('c2', 'María.Peña@correo', '612 345 678', 'co2', 'executive', 'ES', 'ads', 'lead', 'NEW',
             timestamp '2025-01-01', null, null, null, null, timestamp '2025-01-01')
        ) t(contact_id, email, phone, company_id, job_role, country, original_source, lifecycle_stage, lead_status,
            created_at, became_lead_at, became_mql_at, disqualified_at, disqualification_reason, updated_at)""")


@pytest.fixture()
def checks_defs(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    _tiny_warehouse(warehouse)
    assets = [dg.AssetSpec(key) for key in {c.asset_key for d in quality_checks for c in d.check_specs}]
    return dg.Definitions(
        assets=assets,
        asset_checks=quality_checks,
        resources={
            "duckdb": DuckDBResource(database=str(warehouse)),
            "agreement": AgreementResource(path=str(DEFAULT_AGREEMENT_PATH)),
            "quality_docs": QualityResource(docs_dir=str(tmp_path / "quality")),
        },
    )


def _execute(defs, *selection):
    job = dg.Definitions.merge(defs, dg.Definitions(jobs=[dg.define_asset_job("checks", selection=selection[0])]))
    return job.resolve_job_def("checks").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )  # fmt: skip


def test_one_definition_per_suite_holds_its_blocking_hard_and_warning_soft_check():
    specs = {s.name: s for d in quality_checks for s in d.check_specs}
    assert len(quality_checks) == 4 and len(specs) == 8
    for suite in _suites():
        assert specs[f"{suite}_hard_rules"].blocking and not specs[f"{suite}_soft_rules"].blocking
    assert len(dg.AssetSelection.checks(*quality_checks).selected_asset_check_keys) == 8


def test_one_step_reports_both_checks_and_a_failed_hard_rule_fails_it(checks_defs):
    sessions = next(d for d in quality_checks if "raw_web_sessions_hard_rules" in {s.name for s in d.check_specs})
    result = _execute(checks_defs, dg.AssetSelection.checks(sessions))
    assert not result.success  # the blocking check failed
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    hard, soft = evaluations["raw_web_sessions_hard_rules"], evaluations["raw_web_sessions_soft_rules"]
    assert not hard.passed and hard.severity == dg.AssetCheckSeverity.ERROR and hard.blocking
    assert not soft.passed and soft.severity == dg.AssetCheckSeverity.WARN and not soft.blocking
    assert "expect_column_values_to_be_unique | session_id | 2 |" in hard.metadata["failures"].value
    assert "expect_column_values_to_be_in_set | device_category | 1 |" in soft.metadata["failures"].value
    for evaluation in (hard, soft):
        assert {"rows_checked", "expectations", "expectations_failed", "failing_values", "failures",
                "failing_rows_sample", "data_docs", "data_docs_url", "agreement_version", "rows_from"} \
            <= set(evaluation.metadata)  # fmt: skip
        assert evaluation.metadata["rows_checked"].value == 3
    assert "session_id=s1" in hard.metadata["failing_rows_sample"].value


def test_selecting_only_the_soft_check_runs_only_the_soft_rules(checks_defs):
    key = dg.AssetCheckKey(dg.AssetKey(["raw_web", "sessions"]), "raw_web_sessions_soft_rules")
    result = _execute(checks_defs, dg.AssetSelection.checks(key))
    assert result.success  # soft rules warn
    assert [(e.check_name, e.passed) for e in result.get_asset_check_evaluations()] == [
        ("raw_web_sessions_soft_rules", False)
    ]


def test_contacts_checks_show_shapes_never_personal_data(checks_defs):
    contacts = next(d for d in quality_checks if "raw_crm_contacts_hard_rules" in {s.name for s in d.check_specs})
    result = _execute(checks_defs, dg.AssetSelection.checks(contacts))
    hard = {e.check_name: e for e in result.get_asset_check_evaluations()}["raw_crm_contacts_hard_rules"]
    assert not hard.passed
    assert "email=xxxxx.xxxx@xxxxxx, contact_id=c2" in hard.metadata["failing_rows_sample"].value
    everything = "".join(str(e.metadata) for e in result.get_asset_check_evaluations())
    docs = hard.metadata["data_docs"].value
    for page in Path(docs).parent.rglob("*.html"):
        everything += page.read_text()
    for personal in ("José", "Núñez", "María", "Peña", "correo", "+34 (612) 345-678", "612 345 678"):
        assert personal not in everything
