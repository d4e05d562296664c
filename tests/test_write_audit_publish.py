"""The agreement enforced end to end, on a small demo world in a temporary directory.

One Dagster run builds, audits and publishes; the tests then recompute the qualification rules
independently, change the agreement and rerun, and finally feed a batch that breaks a blocking rule
and check that the serving file does not change by a single byte.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from orchestration import quality
from orchestration.agreement import DEFAULT_AGREEMENT_PATH, load_agreement
from orchestration.assets.publish import MART_KEYS, PUBLISH, audit_run
from orchestration.partitions import full_refresh_tags
from orchestration.publish import manifest_path, read_publication

SCALE = 0.01
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def env(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("wap")
    agreement = root / "agreement.yml"
    shutil.copy(DEFAULT_AGREEMENT_PATH, agreement)
    monkeypatch_module.setenv("SMARKETING_WAREHOUSE", str(root / "warehouse.duckdb"))
    monkeypatch_module.setenv("SMARKETING_DEMO_DIR", str(root / "demo_world"))
    monkeypatch_module.setenv("SMARKETING_DEMO_SCALE", str(SCALE))
    monkeypatch_module.setenv("SMARKETING_AGREEMENT", str(agreement))
    monkeypatch_module.setenv("SMARKETING_SERVING", str(root / "serving" / "smarketing.duckdb"))
    from orchestration.settings import Settings

    return {"root": root, "agreement": agreement, "settings": Settings.from_env(),
            "instance": dg.DagsterInstance.ephemeral()}  # fmt: skip


def _run(env, selection=None):
    from orchestration.definitions import build_definitions

    defs = build_definitions(env["settings"])
    job = defs.resolve_job_def("daily_refresh")
    return job.execute_in_process(
        instance=env["instance"], run_config=QUIET, raise_on_error=False, asset_selection=selection,
        tags=full_refresh_tags(),
    ), defs


def _without_demo_world(defs) -> list[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    # The weekly snapshot and report are partitioned: they run on their own job, not in daily_refresh.
    return [k for k in graph.get_all_asset_keys() if k != dg.AssetKey("demo_world") and graph.get(k).group_name != "weekly"]


def _checks(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _leads(path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select * from marts.fct_leads").df()


@pytest.fixture(scope="module")
def first_run(env):
    result, defs = _run(env)
    assert result.success
    return {"result": result, "defs": defs, "leads": _leads(env["settings"].serving_file)}


def test_publish_copies_every_mart_and_records_the_build(env, first_run):
    serving = env["settings"].serving_file
    publication = read_publication(serving)
    assert publication.build_id == first_run["result"].run_id
    # The run audited itself before publishing: every mart rebuilt, every blocking check passed.
    audit = audit_run(env["instance"], first_run["result"].run_id, first_run["defs"].resolve_asset_graph())
    assert audit.ok and audit.passed_checks > 100, audit.describe()
    (published,) = [e for e in first_run["result"].get_asset_materialization_events() if e.asset_key == PUBLISH]
    assert published.materialization.metadata["blocking_checks_passed"].value == audit.passed_checks
    assert json.loads(manifest_path(serving).read_text())["build_id"] == publication.build_id
    with duckdb.connect(str(env["settings"].warehouse_path), read_only=True) as con:
        staged = dict(con.execute(
            "select table_name, estimated_size from duckdb_tables() where schema_name = 'marts'").fetchall())
        staged = {f"marts.{t}": con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in staged}
    assert publication.tables == staged and "marts.lead_rejections" in staged
    with duckdb.connect(str(serving), read_only=True) as con:
        tags = con.execute("select tags from duckdb_databases() where database_name = 'smarketing'").fetchone()[0]
        published = {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in staged}
    assert tags["storage_version"].startswith("v1.")  # DuckDB 1.x drivers read it
    assert published == staged
    assert not [p for p in serving.parent.iterdir() if p.name.endswith((".tmp", ".wal"))]


def _independent_qualification(world_dir, agreement) -> pd.DataFrame:
    """Fit score and required fields straight from the generated files, in pandas."""
    contacts = pd.read_parquet(world_dir / "raw_crm" / "contacts.parquet")
    companies = pd.read_parquet(world_dir / "raw_crm" / "companies.parquet")
    forms = pd.read_parquet(world_dir / "raw_web" / "form_submissions.parquet")
    icp, w = agreement.ideal_customer_profile, agreement.qualification.fit_weights
    df = contacts.merge(companies[["company_id", "industry", "number_of_employees", "name"]], on="company_id", how="left")
    size = pd.cut(df["number_of_employees"], [0, 10, 50, 200, 1000, 10**9],
                  labels=["1-10", "11-50", "51-200", "201-1000", "1001+"]).astype(object)  # fmt: skip
    df["fit"] = (
        df["industry"].isin(icp.industries) * w.industry
        + size.isin(icp.company_sizes) * w.company_size
        + df["country"].str.upper().isin(icp.countries) * w.country
        + df["job_role"].str.lower().isin(icp.job_roles) * w.job_role
    )
    email = df["email"].str.strip().str.lower()
    digits = df["phone"].str.replace(r"[^0-9]", "", regex=True)
    valid_email = email.str.fullmatch(r"[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}").fillna(False).astype(bool)
    valid_phone = digits.str.fullmatch(r"[1-9][0-9]{7,14}").fillna(False).astype(bool)
    forms["email_n"] = forms["email"].str.strip().str.lower()
    consent = forms.groupby("email_n")["consent_marketing"].any()
    fields = {
        "valid_contact": valid_email | valid_phone,
        "company": df["name"].notna(),
        "consent": email.map(consent).fillna(False).astype(bool),
        "source": df["original_source"].notna(),
    }
    df["required"] = pd.concat([fields[f] for f in agreement.qualification.required_fields], axis=1).all(axis=1)
    return df.set_index("contact_id")[["fit", "required"]]


def test_mql_set_follows_the_agreement(env, first_run):
    leads = first_run["leads"].set_index("lead_id")
    agreement = load_agreement(env["agreement"])
    expected = _independent_qualification(env["settings"].demo_world_dir, agreement)
    assert len(expected) == len(leads)
    joined = leads.join(expected)
    assert (joined["fit_score"].astype(float) == joined["fit"]).all()
    assert (joined["meets_required_fields"] == joined["required"]).all()
    engaged = joined["engagement_events"] >= agreement.qualification.engagement.min_events
    mql = (joined["fit"] >= agreement.qualification.mql_fit_score) & joined["required"] & engaged
    assert (joined["is_mql"] == mql).all()
    # A real share qualifies and a real share does not.
    assert 0.2 < mql.mean() < 0.8


def test_weekly_commitments_count_the_mqls(env, first_run):
    leads = first_run["leads"]
    quota = load_agreement(env["agreement"]).marketing_commitments.weekly_mql_quota
    with duckdb.connect(str(env["settings"].serving_file), read_only=True) as con:
        weekly = con.execute(
            "select week_start_date, channel, target, actual, is_met from marts.kpi_agreement_weekly "
            "where commitment = 'weekly_mql_quota'"
        ).df()
    mqls = leads[leads["is_mql"]]
    local = mqls["qualified_at"].dt.tz_localize("UTC").dt.tz_convert("Europe/Madrid").dt.tz_localize(None)
    week = (local.dt.normalize() - pd.to_timedelta(local.dt.weekday, unit="D")).dt.date
    expected = mqls.assign(week=week).groupby("week").size()
    total = weekly[weekly["channel"] == "All channels"].set_index("week_start_date")
    assert (total["target"] == quota.total).all()
    assert total["actual"].sum() == len(mqls)
    for w, n in expected.items():
        assert total.loc[pd.Timestamp(w), "actual"] == n
    assert (total["is_met"] == (total["actual"] >= quota.total)).all()
    assert set(weekly["channel"]) == {"All channels", *quota.by_channel}


def _business_deadline(start_utc: dt.datetime, hours, agreement) -> dt.datetime:
    """Walk the calendar: consume the agreed business hours day by day, in the business time zone."""
    bh = agreement.sales_commitments.business_hours
    zone = ZoneInfo(bh.timezone)
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    local = start_utc.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
    remaining = dt.timedelta(hours=hours)
    day = local.date()
    while True:
        if days[day.weekday()] in bh.days and day not in bh.holidays:
            opens, closes = dt.datetime.combine(day, bh.start), dt.datetime.combine(day, bh.end)
            begin = max(opens, local)
            if begin < closes:
                if begin + remaining <= closes:
                    due = begin + remaining
                    return due.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
                remaining -= closes - begin
        day += dt.timedelta(days=1)


def test_first_contact_deadlines_count_business_hours(env, first_run):
    agreement = load_agreement(env["agreement"])
    hours = agreement.sales_commitments.first_contact_within_business_hours
    handed = first_run["leads"][first_run["leads"]["is_handed_to_sales"]]
    assert len(handed) > 50
    for lead in handed.itertuples():
        expected = _business_deadline(lead.mql_at.to_pydatetime(), hours, agreement)
        assert abs(lead.first_contact_due_at.to_pydatetime() - expected) <= dt.timedelta(seconds=1), lead.lead_id
        status = "met" if pd.notna(lead.first_sales_contact_at) and lead.first_sales_contact_at <= lead.first_contact_due_at else None
        if status:
            assert lead.first_contact_sla == "met"
        else:
            assert lead.first_contact_sla in ("missed", "pending")


def test_every_rejected_lead_is_in_lead_rejections_with_its_reason(env, first_run):
    serving = env["settings"].serving_file
    with duckdb.connect(str(serving), read_only=True) as con:
        rejections = con.execute("select * from marts.lead_rejections").df()
    leads = first_run["leads"]
    not_mql = set(leads.loc[~leads["is_mql"], "lead_id"])
    qualification = rejections[rejections["rejected_by"] == "qualification"]
    assert set(qualification["lead_id"]) == not_mql
    by_lead = qualification.groupby("lead_id")["criterion"].apply(set)
    for lead in leads[~leads["is_mql"]].itertuples():
        expected = set()
        if not lead.meets_fit_score:
            expected.add("fit_score")
            for attr in ("industry", "company_size", "country", "job_role"):
                if not getattr(lead, f"meets_icp_{attr}"):
                    expected.add(f"icp_{attr}")
        if not lead.meets_engagement:
            expected.add("engagement")
        if not lead.has_consent:
            expected.add("required_field_consent")
        for field in ("valid_contact", "company", "source"):
            if not getattr(lead, f"has_{field}"):
                expected.add(f"required_field_{field}")
        assert by_lead[lead.lead_id] == expected, lead.lead_id

    # Sales' rejections, straight from the raw CRM: disqualified and never accepted.
    contacts = pd.read_parquet(env["settings"].demo_world_dir / "raw_crm" / "contacts.parquet")
    disqualified = contacts[contacts["disqualified_at"].notna() & contacts["became_sql_at"].isna()]
    assert len(disqualified) > 0
    sales = rejections[rejections["rejected_by"] == "sales"].set_index("lead_id")
    assert set(sales.index) == set(disqualified["contact_id"])
    agreed = set(load_agreement(env["agreement"]).sales_commitments.rejection_reasons)
    for row in disqualified.itertuples():
        got = sales.loc[row.contact_id]
        if pd.isna(row.disqualification_reason):
            assert got["reason"] == "rejected by sales without a reason"
        else:
            assert got["criterion_value"] == row.disqualification_reason
            assert got["is_agreed_reason"] == (row.disqualification_reason in agreed)
    assert not rejections["rejection_id"].duplicated().any()


def test_checks_report_counts_samples_and_data_docs_without_personal_data(env, first_run):
    checks = _checks(first_run["result"])
    hard = [n for n in checks if n.endswith("_hard_rules")]
    assert len(hard) == 4 and all(checks[n].passed for n in hard)
    soft = checks["marts_fct_leads_soft_rules"]
    assert soft.severity == dg.AssetCheckSeverity.WARN and not soft.passed
    leads = first_run["leads"]
    handed_without_fields = int((leads["is_handed_to_sales"] & ~leads["meets_required_fields"]).sum())
    assert f"| {handed_without_fields} |" in soft.metadata["failures"].value
    docs = Path(soft.metadata["data_docs"].value)
    assert docs.name == "index.html" and "marts_fct_leads_soft" in docs.read_text()
    validation_pages = list((docs.parent / "validations").rglob("*.html"))
    assert validation_pages and "meets_required_fields" in validation_pages[0].read_text()
    contacts_soft = checks["raw_crm_contacts_soft_rules"]
    sample = contacts_soft.metadata["failing_rows_sample"].value
    assert "contact_id=" in sample
    contacts = pd.read_parquet(env["settings"].demo_world_dir / "raw_crm" / "contacts.parquet")
    everything = "".join(str(e.metadata) for e in checks.values())
    for docs_page in (env["settings"].quality_docs_dir / first_run["result"].run_id).rglob("*.html"):
        everything += docs_page.read_text()
    for value in pd.concat([contacts["email"], contacts["phone"]]).dropna().head(300):
        assert value not in everything


def test_changing_the_agreement_changes_the_mql_set_and_the_checks(env, first_run):
    before = first_run["leads"]
    strict = yaml.safe_load(env["agreement"].read_text())
    strict["version"] = "strict"
    strict["qualification"]["mql_fit_score"] = 100
    strict["ideal_customer_profile"]["industries"] = ["Technology"]
    env["agreement"].write_text(yaml.safe_dump(strict))
    result, _defs = _run(env, _without_demo_world(defs=first_run["defs"]))
    assert result.success
    after = _leads(env["settings"].serving_file)
    assert (after["agreement_version"] == "strict").all()
    mqls_before, mqls_after = set(before.loc[before["is_mql"], "lead_id"]), set(after.loc[after["is_mql"], "lead_id"])
    assert mqls_after < mqls_before and mqls_after
    assert (after.loc[after["is_mql"], "company_industry"] == "Technology").all()
    assert (after.loc[after["is_mql"], "fit_score"].astype(float) == 100).all()
    checks = _checks(result)
    assert checks["marts_fct_leads_hard_rules"].passed
    assert checks["marts_fct_leads_hard_rules"].metadata["agreement_version"].value == "strict"
    # The generated suite changed with the file: the marts built under the old agreement now fail it.
    agreement = load_agreement(env["agreement"])
    suite = quality.build_suites(agreement, pd.Timestamp.now().date(), ["EUR", "GBP", "USD"])["marts_fct_leads"]
    old = before.copy()
    old["fit_score"] = old["fit_score"].astype(float)
    outcome = quality.run_suite(old[[c for c in old.columns]], suite, "hard", None)
    assert not outcome.success
    failed = {(f.expectation, f.column): f.unexpected_count for f in outcome.failed}
    below_new_threshold = int((before["is_mql"] & (before["fit_score"].astype(float) < 100)).sum())
    assert below_new_threshold > 0
    assert failed[("expect_column_values_to_be_between", "fit_score")] == below_new_threshold


def _serving_state(serving: Path) -> tuple[str, bytes, list[str]]:
    """Hash of the serving file, its manifest, and the names in the serving folder."""
    return _sha256(serving), manifest_path(serving).read_bytes(), sorted(p.name for p in serving.parent.iterdir())


def _failure_message(result) -> str:
    failures = result.get_step_failure_events()
    assert failures, "expected a failed step"
    data = failures[0].step_failure_data
    return data.user_failure_data.description if data.user_failure_data else data.error.message


def test_a_mart_breaking_a_blocking_rule_after_dbt_rebuilt_it_stops_the_publish(env, first_run):
    """Raw data passes its checks, dbt rebuilds every mart and its tests pass, but the blocking GX rule
    on fct_ad_spend_daily (spend not negative) fails: publish does not run and BI's file stays as it was."""
    serving = env["settings"].serving_file
    before = _serving_state(serving)
    path = env["settings"].demo_world_dir / "raw_google_ads" / "ad_stats.parquet"
    original = path.read_bytes()
    stats = pq.read_table(path)
    cost = stats.column("metrics_cost_micros").to_pylist()
    cost[0] = -12_340_000  # Google reports a refund as a negative cost: -12.34 in the account currency
    bad = stats.set_column(stats.schema.get_field_index("metrics_cost_micros"), "metrics_cost_micros",
                           pa.array(cost, type=stats.schema.field("metrics_cost_micros").type))  # fmt: skip
    pq.write_table(bad, path)
    try:
        result, defs = _run(env, _without_demo_world(first_run["defs"]))
    finally:
        path.write_bytes(original)
    assert not result.success
    checks = _checks(result)
    # The raw checks passed: the bad row got through to the marts.
    assert checks["raw_crm_contacts_hard_rules"].passed and checks["raw_web_sessions_hard_rules"].passed
    check = checks["marts_fct_ad_spend_daily_hard_rules"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.asset_key == dg.AssetKey(["marts", "fct_ad_spend_daily"])
    failures = check.metadata["failures"].value
    assert "expect_column_values_to_be_between | spend_account_currency | 1 |" in failures
    assert "expect_column_values_to_be_between | spend_reporting | 1 |" in failures
    # dbt rebuilt the marts (its tests do not forbid negative spend) ...
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "fct_ad_spend_daily"]) in materialized
    assert dg.AssetKey(["marts", "fct_leads"]) in materialized
    with duckdb.connect(str(env["settings"].warehouse_path), read_only=True) as con:
        staged_min = con.execute("select min(spend_account_currency) from marts.fct_ad_spend_daily").fetchone()[0]
    assert float(staged_min) == -12.34
    # ... but the publish did not run, and BI's file did not change by a byte.
    assert dg.AssetKey("publish") not in materialized
    assert _serving_state(serving) == before
    # The run's own audit, read back from its event log, names the failed check.
    audit = audit_run(env["instance"], result.run_id, defs.resolve_asset_graph())
    assert audit.failed_checks == ["marts/fct_ad_spend_daily:marts_fct_ad_spend_daily_hard_rules"]
    assert not audit.missing_marts and not audit.ok


def test_publish_alone_refuses_marts_that_were_not_audited_in_its_run(env, first_run):
    """After the failed audit above, materializing ``publish`` on its own (no marts, no checks in the run)
    would copy the unaudited staging marts; it must fail instead, naming what is missing."""
    serving = env["settings"].serving_file
    before = _serving_state(serving)
    published = read_publication(serving)

    result, _defs = _run(env, [PUBLISH])
    assert not result.success
    assert {e.asset_key for e in result.get_asset_materialization_events()} == set()
    message = _failure_message(result)
    assert message.startswith("refusing to publish unaudited marts"), message
    assert f"marts not materialized in this run ({len(MART_KEYS)})" in message
    # The message names the first ten (the metadata below has them all).
    assert all(k.to_user_string() in message for k in MART_KEYS[:10])
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert set(failure.metadata["missing_marts"].value) == {k.to_user_string() for k in MART_KEYS}
    assert _serving_state(serving) == before
    assert read_publication(serving) == published
    assert not [p for p in serving.parent.iterdir() if p.name.endswith((".tmp", ".wal"))]


def test_publish_requires_every_mart_of_its_run(env, first_run):
    """A run that rebuilds only some marts (all their checks passing) does not publish either."""
    serving = env["settings"].serving_file
    before = _serving_state(serving)
    dims = [dg.AssetKey(["marts", "dim_channel"]), dg.AssetKey(["marts", "dim_date"])]
    result, _defs = _run(env, [*dims, PUBLISH])
    assert not result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert set(dims) <= materialized and PUBLISH not in materialized
    assert all(c.passed for c in result.get_asset_check_evaluations() if c.asset_key in dims)
    message = _failure_message(result)
    assert f"marts not materialized in this run ({len(MART_KEYS) - len(dims)})" in message
    assert "marts/fct_leads" in message and "marts/dim_date" not in message
    assert _serving_state(serving) == before


def test_a_batch_breaking_a_blocking_rule_stops_the_publish(env, first_run):
    serving = env["settings"].serving_file
    published_bytes = _sha256(serving)
    published_manifest = manifest_path(serving).read_bytes()
    # The CRM sends a batch where a merge went wrong: two contacts share an id.
    path = env["settings"].demo_world_dir / "raw_crm" / "contacts.parquet"
    contacts = pq.read_table(path)
    pq.write_table(pa.concat_tables([contacts, contacts.slice(0, 1)]), path)

    result, _defs = _run(env, _without_demo_world(first_run["defs"]))
    assert not result.success
    check = _checks(result)["raw_crm_contacts_hard_rules"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "expect_column_values_to_be_unique | contact_id | 2 |" in check.metadata["failures"].value
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["raw_crm", "contacts"]) in materialized  # the bad batch landed in raw...
    assert dg.AssetKey("publish") not in materialized  # ...and went no further
    assert dg.AssetKey(["marts", "fct_leads"]) not in materialized
    assert _sha256(serving) == published_bytes
    assert manifest_path(serving).read_bytes() == published_manifest
    assert not [p for p in serving.parent.iterdir() if p.name.endswith((".tmp", ".wal"))]
