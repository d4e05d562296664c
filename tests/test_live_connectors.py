"""Live connectors against local servers that behave like Google Ads, Meta and LinkedIn."""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import duckdb
import pytest

from ingestion.live import run_connector
from ingestion.live.common import CredentialsError, LiveSourceError, SchemaDriftError
from tests.fake_ad_apis import TOKEN, FakeAdApi, Fault, make_facts

END = dt.date(2026, 11, 10)
START = END - dt.timedelta(days=9)  # 10 initial days
EMPTY_DAY = dt.date(2026, 11, 5)

PLATFORMS = {
    # source: (schema.table, account, env, cost in account currency, day column, id column)
    "google_ads": ("raw_google_ads.ad_stats", "1234567890", {
        "SMARKETING_GOOGLE_ADS_DEVELOPER_TOKEN": "dev-token", "SMARKETING_GOOGLE_ADS_ACCESS_TOKEN": TOKEN,
        "SMARKETING_GOOGLE_ADS_CUSTOMER_IDS": "123-456-7890"},
        "metrics_cost_micros / 1e6", "segments_date", "ad_group_ad_ad_id"),
    "meta_ads": ("raw_meta_ads.ad_insights", "111", {
        "SMARKETING_META_ADS_ACCESS_TOKEN": TOKEN, "SMARKETING_META_ADS_AD_ACCOUNT_IDS": "act_111"},
        "cast(spend as double)", "cast(date_start as date)", "ad_id"),
    "linkedin_ads": ("raw_linkedin_ads.ad_analytics", "222", {
        "SMARKETING_LINKEDIN_ADS_ACCESS_TOKEN": TOKEN, "SMARKETING_LINKEDIN_ADS_AD_ACCOUNT_IDS": "222"},
        "cast(cost_in_local_currency as double)", "date_range_start", "pivot_value"),
}  # fmt: skip
TOKEN_VARS = {"google_ads": "SMARKETING_GOOGLE_ADS_ACCESS_TOKEN", "meta_ads": "SMARKETING_META_ADS_ACCESS_TOKEN",
              "linkedin_ads": "SMARKETING_LINKEDIN_ADS_ACCESS_TOKEN"}  # fmt: skip


def _env(source: str, api: FakeAdApi, end: dt.date = END, **extra: str) -> dict[str, str]:
    _, _, env, *_ = PLATFORMS[source]
    return {
        **env, f"SMARKETING_{source.upper()}_API_URL": api.url, "SMARKETING_LIVE_END_DATE": end.isoformat(),
        f"SMARKETING_{source.upper()}_INITIAL_DAYS": "10", f"SMARKETING_{source.upper()}_LOOKBACK_DAYS": "3",
        "SMARKETING_HTTP_MAX_ATTEMPTS": "4", "SMARKETING_HTTP_BACKOFF_FACTOR": "0.05",
        "SMARKETING_HTTP_MAX_RETRY_DELAY_SECONDS": "5", "SMARKETING_HTTP_TIMEOUT_SECONDS": "5", **extra,
    }  # fmt: skip


def _server(source: str, days: int = 15) -> FakeAdApi:
    _, account, *_ = PLATFORMS[source]
    return FakeAdApi(source, make_facts(account, START - dt.timedelta(days=3), days, {EMPTY_DAY}))


def _expected(api: FakeAdApi, start: dt.date, end: dt.date) -> tuple[int, float, int]:
    facts = [f for f in api.facts if start <= f.day <= end]
    return len(facts), round(sum(f.cost for f in facts), 2), sum(f.clicks for f in facts)


def _actual(db, source: str) -> tuple[int, float, int]:
    relation, _, _, cost, _, _ = PLATFORMS[source]
    clicks = "metrics_clicks" if source == "google_ads" else "cast(clicks as bigint)"
    with duckdb.connect(str(db), read_only=True) as con:
        n, total, c = con.execute(f"select count(*), round(sum({cost}), 2), sum({clicks}) from {relation}").fetchone()
    return n, float(total or 0), int(c or 0)


def _schema(source: str) -> str:
    return f"raw_{source}"


@pytest.mark.parametrize("source", PLATFORMS)
def test_pages_through_the_window_and_reconciles(tmp_path, source):
    db = tmp_path / "w.duckdb"
    with _server(source) as api:
        report = run_connector(_schema(source), db, _env(source, api))
    load = next(iter(report.values()))
    assert (load.window_start, load.window_end) == (START.isoformat(), END.isoformat())
    expected = _expected(api, START, END)
    assert _actual(db, source) == expected
    assert load.records_fetched == load.rows_loaded == expected[0] == 27  # 10 days, one empty, 3 ads
    assert load.pages > 3 if source != "linkedin_ads" else load.pages >= 3  # paged answers were followed
    assert load.cursor_after == END.isoformat() and load.cursor_before is None


@pytest.mark.parametrize("source", PLATFORMS)
def test_retries_429_with_retry_after_then_500(tmp_path, source):
    db = tmp_path / "w.duckdb"
    path = {"google_ads": "googleAds:search", "meta_ads": "insights", "linkedin_ads": "adAnalytics"}[source]
    with _server(source) as api:
        api.faults = [Fault(path, 429, {"Retry-After": "1"}), Fault(path, 500), Fault(path, 503)]
        report = run_connector(_schema(source), db, _env(source, api))
    hits = [i for i, (_, p) in enumerate(api.requests) if path in p]
    assert len(hits) >= 4  # three failures, then the answer
    assert api.request_times[hits[1]] - api.request_times[hits[0]] >= 0.95  # Retry-After honoured
    assert _actual(db, source) == _expected(api, START, END)
    assert next(iter(report.values())).rows_loaded == 27


@pytest.mark.parametrize("source", PLATFORMS)
def test_gives_up_after_persistent_5xx_without_loading(tmp_path, source):
    db = tmp_path / "w.duckdb"
    path = {"google_ads": "googleAds:search", "meta_ads": "insights", "linkedin_ads": "adAnalytics"}[source]
    with _server(source) as api:
        api.faults = [Fault(path, 500) for _ in range(4)]
        with pytest.raises(LiveSourceError, match=r"HTTP 500 .* after retries"):
            run_connector(_schema(source), db, _env(source, api))
    assert len([p for _, p in api.requests if path in p]) == 4
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw_quarantine.api_cursors").fetchone()[0] == 0


SLOW = 1.5  # seconds a delayed fault waits before answering; the client's timeout below is 0.3 s


@pytest.mark.parametrize("source", PLATFORMS)
def test_retries_a_timed_out_request_then_loads(tmp_path, source):
    db = tmp_path / "w.duckdb"
    path = {"google_ads": "googleAds:search", "meta_ads": "insights", "linkedin_ads": "adAnalytics"}[source]
    with _server(source) as api:
        # the late answer is unusable: had the client waited for it, the load would fail as malformed
        api.faults = [Fault(path, 200, body='{"results": [', delay=SLOW)]
        report = run_connector(_schema(source), db, _env(source, api, SMARKETING_HTTP_TIMEOUT_SECONDS="0.3"))
    hits = [i for i, (_, p) in enumerate(api.requests) if path in p]
    assert len(hits) >= 2
    assert 0.3 <= api.request_times[hits[1]] - api.request_times[hits[0]] < SLOW  # gave up at the timeout
    assert _actual(db, source) == _expected(api, START, END)
    assert next(iter(report.values())).rows_loaded == 27


@pytest.mark.parametrize("source", PLATFORMS)
def test_a_request_that_always_times_out_fails_naming_the_timeout(tmp_path, source):
    db = tmp_path / "w.duckdb"
    path = {"google_ads": "googleAds:search", "meta_ads": "insights", "linkedin_ads": "adAnalytics"}[source]
    with _server(source) as api:
        api.faults = [Fault(path, 200, delay=SLOW) for _ in range(4)]
        with pytest.raises(LiveSourceError) as info:
            run_connector(_schema(source), db, _env(source, api, SMARKETING_HTTP_TIMEOUT_SECONDS="0.3"))
    message = str(info.value)
    assert re.match(rf"{source}: 127\.0\.0\.1:\d+ did not answer /\S*{re.escape(path.split(':')[0])}\S* within "
                    r"SMARKETING_HTTP_TIMEOUT_SECONDS on any of the SMARKETING_HTTP_MAX_ATTEMPTS attempts "
                    r"\(ReadTimeout\); nothing was loaded$", message), message  # fmt: skip
    assert TOKEN not in message
    assert len([p for _, p in api.requests if path in p]) == 4  # SMARKETING_HTTP_MAX_ATTEMPTS
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw_quarantine.api_cursors").fetchone()[0] == 0


@pytest.mark.parametrize("source", PLATFORMS)
def test_bad_credentials_fail_fast_naming_the_variable(tmp_path, source):
    db = tmp_path / "w.duckdb"
    var = TOKEN_VARS[source]
    with _server(source) as api:
        with pytest.raises(CredentialsError, match=var):
            run_connector(_schema(source), db, _env(source, api, **{var: "expired"}))
        assert len(api.requests) == 1  # a 401 is not retried
        with pytest.raises(CredentialsError, match=f"{var} is not set"):
            run_connector(_schema(source), db, {k: v for k, v in _env(source, api).items() if k != var})
        assert len(api.requests) == 1  # missing variable: no request at all


@pytest.mark.parametrize("source", PLATFORMS)
def test_malformed_body_stops_the_load_and_keeps_earlier_data(tmp_path, source):
    db = tmp_path / "w.duckdb"
    path = {"google_ads": "googleAds:search", "meta_ads": "insights", "linkedin_ads": "adAnalytics"}[source]
    with _server(source) as api:
        run_connector(_schema(source), db, _env(source, api))
        before = _actual(db, source)
        api.faults = [Fault(path, 200, body='{"results": [{"customer": ')]
        with pytest.raises(LiveSourceError, match="malformed response body"):
            run_connector(_schema(source), db, _env(source, api, end=END + dt.timedelta(days=2)))
    assert _actual(db, source) == before
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select cursor_value from raw_quarantine.api_cursors").fetchone()[0] == END.isoformat()


@pytest.mark.parametrize("source", PLATFORMS)
def test_incremental_cursor_with_lookback_restates_recent_days(tmp_path, source):
    db = tmp_path / "w.duckdb"
    with _server(source) as api:
        run_connector(_schema(source), db, _env(source, api))
        # The platform restates a day inside the look-back and one before it; the next day appears.
        restated = [f for f in api.facts if f.day == END - dt.timedelta(days=1)]
        old = [f for f in api.facts if f.day == END - dt.timedelta(days=6)]
        for f in restated + old:
            f.cost += 100
        api.windows.clear()
        report = run_connector(_schema(source), db, _env(source, api, end=END + dt.timedelta(days=1)))
    load = next(iter(report.values()))
    assert api.windows and set(api.windows) == {(END - dt.timedelta(days=3), END + dt.timedelta(days=1))}
    assert load.cursor_before == END.isoformat() and load.cursor_after == (END + dt.timedelta(days=1)).isoformat()
    assert load.records_fetched == 15  # 5 days x 3 ads, asked again or new
    n, total, clicks = _expected(api, START, END + dt.timedelta(days=1))
    total -= 100 * len(old)  # the day outside the look-back keeps the earlier figure
    assert _actual(db, source) == (n, round(total, 2), clicks)


@pytest.mark.parametrize("source", PLATFORMS)
def test_empty_day_loads_nothing_and_moves_the_cursor(tmp_path, source):
    db = tmp_path / "w.duckdb"
    with _server(source) as api:
        env = _env(source, api, end=EMPTY_DAY, **{f"SMARKETING_{source.upper()}_INITIAL_DAYS": "1"})
        report = run_connector(_schema(source), db, env)
    load = next(iter(report.values()))
    assert (load.records_fetched, load.rows_loaded, load.cursor_after) == (0, 0, EMPTY_DAY.isoformat())
    assert _actual(db, source)[0] == 0


@pytest.mark.parametrize("source", PLATFORMS)
def test_new_field_is_kept_and_reported(tmp_path, source):
    db = tmp_path / "w.duckdb"
    with _server(source) as api:
        api.extra_field = "newMetricFromTheFuture"
        report = run_connector(_schema(source), db, _env(source, api))
    load = next(iter(report.values()))
    assert load.new_fields == ["newMetricFromTheFuture"] and load.rows_loaded == 27
    with duckdb.connect(str(db), read_only=True) as con:
        kept = con.execute(
            f"select count(*) from landing_api.{source}__{load.table} "
            "where cast(record->>'newMetricFromTheFuture' as int) = 7"
        ).fetchone()[0]
    assert kept == 27


@pytest.mark.parametrize(("source", "dropped", "column"), [
    ("google_ads", "segments", "segments_date"),
    ("meta_ads", "ad_id", "ad_id"),
    ("linkedin_ads", "pivotValues", "campaign_id"),
])  # fmt: skip
def test_missing_required_field_stops_the_load_naming_it(tmp_path, source, dropped, column):
    db = tmp_path / "w.duckdb"
    with _server(source) as api:
        run_connector(_schema(source), db, _env(source, api))
        before = _actual(db, source)
        api.drop_field = dropped
        relation = PLATFORMS[source][0]
        with pytest.raises(SchemaDriftError, match=rf"{source}: required field '{column}' missing in {relation}"):
            run_connector(_schema(source), db, _env(source, api, end=END + dt.timedelta(days=1)))
    assert _actual(db, source) == before


def test_no_secret_in_errors(tmp_path):
    with _server("meta_ads") as api:
        api.faults = [Fault("insights", 500) for _ in range(4)]
        with pytest.raises(LiveSourceError) as info:
            run_connector("raw_meta_ads", tmp_path / "w.duckdb", _env("meta_ads", api))
    assert TOKEN not in str(info.value) and "HTTP 500 from /act_111/insights" in str(info.value)
    assert json.dumps(str(info.value))


def test_every_source_has_a_live_connector_that_names_its_settings(tmp_path):
    expected = {"raw_store": "SMARKETING_POS_DSN", "raw_web": "SMARKETING_GA4_EXPORT_DIR",
                "raw_crm": "SMARKETING_HUBSPOT_ACCESS_TOKEN"}  # fmt: skip
    for schema, variable in expected.items():
        with pytest.raises(CredentialsError, match=variable):
            run_connector(schema, tmp_path / "w.duckdb", {})
    with pytest.raises(LiveSourceError, match="live CRM connectors are hubspot and salesforce"):
        run_connector("raw_crm", tmp_path / "w.duckdb", {"SMARKETING_CRM_LIVE_SYSTEM": "pipedrive"})
    assert time


def test_raw_asset_in_live_mode_pulls_the_api(tmp_path, monkeypatch):
    import dagster as dg

    from orchestration.assets.ingestion import raw_source_assets
    from orchestration.resources import build_resources
    from orchestration.settings import Settings

    with _server("google_ads") as api:
        for key, value in _env("google_ads", api).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setenv("SMARKETING_WAREHOUSE", str(tmp_path / "w.duckdb"))
        monkeypatch.setenv("SMARKETING_SOURCE_MODE_GOOGLE_ADS", "live")
        asset = next(a for a in raw_source_assets if a.node_def.name == "load_raw_google_ads")
        with dg.instance_for_test() as instance:
            result = dg.materialize([asset], resources=build_resources(Settings.from_env()), instance=instance)
    meta = result.asset_materializations_for_node("load_raw_google_ads")[0].metadata
    assert (meta["rows_in"].value, meta["rows_loaded"].value, meta["dagster/row_count"].value) == (27, 27, 27)
    assert meta["reconciled"].value is True and meta["window"].value == f"{START}..{END}"
    assert all(TOKEN not in str(v.value) for v in meta.values())
