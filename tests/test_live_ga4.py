"""GA4 live mode: BigQuery export files (daily events tables as newline JSON, gzipped JSON or Parquet)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.live import run_connector
from ingestion.live.common import CredentialsError, LiveSourceError, SchemaDriftError

END = dt.date(2026, 11, 10)
EPOCH = dt.datetime(1970, 1, 1)


def ev(user: str | None, session: int | None, at: dt.datetime, name: str, page: str | None = None,
       referrer: str | None = None, country: str = "Spain", device: str = "mobile", **params: str) -> dict:  # fmt: skip
    values = {"ga_session_id": session, "page_location": page, "page_referrer": referrer, **params}
    return {
        "event_date": at.strftime("%Y%m%d"), "event_timestamp": str(int((at - EPOCH).total_seconds() * 1_000_000)),
        "event_name": name, "user_pseudo_id": user,
        "event_params": [{"key": k, "value": {"int_value": v} if isinstance(v, int) else {"string_value": v}}
                         for k, v in values.items() if v is not None],
        "device": {"category": device, "operating_system": "Android"}, "geo": {"country": country, "city": "Bilbao"},
        "privacy_info": {"ads_storage": "Yes", "analytics_storage": "Yes"},
    }  # fmt: skip


def write(folder: Path, day: dt.date, events: list[dict], kind: str = "json", shard: str = "") -> Path:
    name = f"events_{day:%Y%m%d}{shard}"
    if kind == "parquet":
        path = folder / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(events), path)
    elif kind == "gz":
        path = folder / f"{name}.json.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(e) + "\n" for e in events))
    else:
        path = folder / f"{name}.json"
        path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def _env(folder: Path, end: dt.date = END, **extra: str) -> dict[str, str]:
    return {"SMARKETING_GA4_EXPORT_DIR": str(folder), "SMARKETING_LIVE_END_DATE": end.isoformat(),
            "SMARKETING_GA4_INITIAL_DAYS": "5", "SMARKETING_GA4_LOOKBACK_DAYS": "2", **extra}  # fmt: skip


def _rows(db, sql):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


LANDING = "https://www.muebles.es/sillas?utm_source=google&utm_medium=cpc&utm_campaign=otono&gclid=Cj0"


def _export(folder: Path) -> None:
    """Three visitors over 8-10 November (JSON, gzipped JSON and a Parquet shard), one session crossing
    midnight, one cookieless ping, one form submission."""
    d8, d9, d10 = (dt.datetime(2026, 11, n) for n in (8, 9, 10))
    write(folder, d8.date(), [
        ev("u1", 111, d8 + dt.timedelta(hours=23, minutes=50), "session_start", LANDING, "https://www.google.com/"),
        ev("u1", 111, d8 + dt.timedelta(hours=23, minutes=50), "page_view", LANDING, "https://www.google.com/",
           page_title="Sillas"),
    ])
    write(folder, d9.date(), [  # u1's session goes on past midnight
        ev("u1", 111, d9 + dt.timedelta(minutes=5), "page_view", "https://www.muebles.es/contacto", page_title="Contacto"),
        ev("u1", 111, d9 + dt.timedelta(minutes=7), "form_submit", "https://www.muebles.es/contacto",
           form_id="f-1", form_name="demo_request"),
        ev("u2", 222, d9 + dt.timedelta(hours=10), "session_start", "https://www.muebles.es/", None, country="Portugal",
           device="desktop"),
        ev("u2", 222, d9 + dt.timedelta(hours=10), "page_view", "https://www.muebles.es/", None, country="Portugal",
           device="desktop"),
        ev(None, None, d9 + dt.timedelta(hours=11), "page_view", "https://www.muebles.es/"),  # consent denied
    ], kind="gz")
    write(folder, d10.date(), [
        ev("u3", 333, d10 + dt.timedelta(hours=9), "page_view", LANDING.replace("google", "facebook"), None,
           country="Atlantis"),
    ], kind="parquet", shard="_000000000000")


def test_sessions_page_views_forms_from_export_files(tmp_path):
    folder, db = tmp_path / "ga4", tmp_path / "w.duckdb"
    folder.mkdir()
    _export(folder)
    report = run_connector("raw_web", db, _env(folder))
    assert {t: (r.rows_loaded, r.rows_quarantined) for t, r in report.items()} == {
        "sessions": (3, 0), "page_views": (4, 1), "form_submissions": (1, 0)}
    assert all(r.metadata()["reconciled"] for r in report.values()) and report["sessions"].pages == 3
    assert _rows(db, "select session_id, anonymous_id, session_started_at, session_ended_at, landing_page_url, referrer_url, "
                     "device_category, geo_country, page_view_count from raw_web.sessions order by 1") == [
        ("u1.111", "u1", dt.datetime(2026, 11, 8, 23, 50), dt.datetime(2026, 11, 9, 0, 7), LANDING,
         "https://www.google.com/", "mobile", "ES", 2),
        ("u2.222", "u2", dt.datetime(2026, 11, 9, 10), dt.datetime(2026, 11, 9, 10), "https://www.muebles.es/", None,
         "desktop", "PT", 1),
        ("u3.333", "u3", dt.datetime(2026, 11, 10, 9), dt.datetime(2026, 11, 10, 9),
         LANDING.replace("google", "facebook"), None, "mobile", "Atlantis", 1)]
    assert _rows(db, "select session_id, form_name, page_url, consent_marketing, email from raw_web.form_submissions") == [
        ("u1.111", "demo_request", "https://www.muebles.es/contacto", True, None)]
    assert _rows(db, "select file, line, field, reason from raw_quarantine.quarantined_rows") == [
        ("events_20261109.json.gz", 5, "user_pseudo_id", "cookieless ping (consent denied): no user_pseudo_id")]
    assert "geo.city" in report["page_views"].new_fields  # columns the mapping does not use are kept


def test_incremental_rereads_lookback_days_and_the_day_before_only(tmp_path):
    folder, db = tmp_path / "ga4", tmp_path / "w.duckdb"
    folder.mkdir()
    _export(folder)
    run_connector("raw_web", db, _env(folder))
    # GA4 restates 9 November (a late hit) and 12 November arrives. The next run reads from the cursor (10 Nov)
    # minus the 2-day look-back (8 Nov), plus 7 Nov as context: a damaged 6 Nov file is never opened.
    (folder / "events_20261106.json").write_text("{not json\n")
    late = ev("u2", 222, dt.datetime(2026, 11, 9, 10, 20), "page_view", "https://www.muebles.es/mesas", None,
              country="Portugal", device="desktop")
    with gzip.open(folder / "events_20261109.json.gz", "at", encoding="utf-8") as handle:
        handle.write(json.dumps(late) + "\n")
    write(folder, dt.date(2026, 11, 12), [ev("u4", 444, dt.datetime(2026, 11, 12, 8), "page_view", "https://www.muebles.es/")])
    report = run_connector("raw_web", db, _env(folder, dt.date(2026, 11, 12)))
    assert report["sessions"].window_start == "2026-11-08" and report["sessions"].cursor_before == "2026-11-10"
    assert report["sessions"].cursor_after == "2026-11-12"
    assert _rows(db, "select session_id, page_view_count, session_ended_at from raw_web.sessions order by 1") == [
        ("u1.111", 2, dt.datetime(2026, 11, 9, 0, 7)), ("u2.222", 2, dt.datetime(2026, 11, 9, 10, 20)),
        ("u3.333", 1, dt.datetime(2026, 11, 10, 9)), ("u4.444", 1, dt.datetime(2026, 11, 12, 8))]
    assert _rows(db, "select count(*), count(distinct page_view_id) from raw_web.page_views") == [(6, 6)]
    # the cookieless ping was re-read and quarantined again, never loaded
    assert _rows(db, "select count(*) from raw_quarantine.quarantined_rows") == [(2,)]


def test_session_crossing_the_window_start_keeps_its_real_start(tmp_path):
    folder, db = tmp_path / "ga4", tmp_path / "w.duckdb"
    folder.mkdir()
    _export(folder)
    run_connector("raw_web", db, _env(folder, SMARKETING_GA4_INITIAL_DAYS="2"))  # window 9-10 Nov, 8 Nov as context
    assert _rows(db, "select session_started_at, page_view_count from raw_web.sessions where session_id = 'u1.111'") == [
        (dt.datetime(2026, 11, 8, 23, 50), 2)]
    assert _rows(db, "select count(*) from raw_web.page_views") == [(3,)]  # 8 Nov's page view is context only


def test_malformed_line_stops_naming_file_and_line(tmp_path):
    folder, db = tmp_path / "ga4", tmp_path / "w.duckdb"
    folder.mkdir()
    _export(folder)
    run_connector("raw_web", db, _env(folder))
    (folder / "events_20261111.json").write_text(json.dumps(ev("u5", 5, dt.datetime(2026, 11, 11), "page_view")) + "\n{oops\n")
    with pytest.raises(LiveSourceError, match=r"ga4: events_20261111.json line 2 is not valid JSON"):
        run_connector("raw_web", db, _env(folder, dt.date(2026, 11, 11)))
    (folder / "events_20261111.json").unlink()
    (folder / "events_20261111_000000000001.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(LiveSourceError, match=r"ga4: events_20261111_000000000001.parquet is not a readable Parquet"):
        run_connector("raw_web", db, _env(folder, dt.date(2026, 11, 11)))
    assert _rows(db, "select count(*) from raw_web.page_views") == [(4,)]


@pytest.mark.parametrize(("name", "dropped", "table"), [
    ("page_view", "user_pseudo_id", "page_views"),
    ("form_submit", "event_params", "form_submissions"),
    ("session_start", "event_timestamp", "sessions"),
    ("page_view", "event_name", "sessions"),  # without a name the event can only feed sessions
])  # fmt: skip
def test_missing_column_stops_naming_it_and_the_raw_table(tmp_path, name, dropped, table):
    folder, db = tmp_path / "ga4", tmp_path / "w.duckdb"
    folder.mkdir()
    fine = ev("u1", 1, dt.datetime(2026, 11, 10, 8), "page_view", "https://x.es/")
    event = ev("u1", 1, dt.datetime(2026, 11, 10, 8, 1), name, "https://x.es/")
    del event[dropped]
    write(folder, END, [fine, event])
    with pytest.raises(SchemaDriftError, match=rf"ga4: required field '{dropped}' missing in raw_web\.{table} "
                                               r"\(events_20261110.json line 2\)"):
        run_connector("raw_web", db, _env(folder))
    assert not (db.exists() and _rows(db, "select count(*) from information_schema.tables where table_schema = 'raw_web'")[0][0])


def test_empty_days_and_missing_folder(tmp_path):
    folder, db = tmp_path / "ga4", tmp_path / "w.duckdb"
    folder.mkdir()
    write(folder, END, [])
    report = run_connector("raw_web", db, _env(folder))
    assert {t: r.rows_loaded for t, r in report.items()} == {"sessions": 0, "page_views": 0, "form_submissions": 0}
    assert report["sessions"].cursor_after == "2026-11-10"
    with pytest.raises(CredentialsError, match="SMARKETING_GA4_EXPORT_DIR is not set"):
        run_connector("raw_web", db, {})
    with pytest.raises(CredentialsError, match="SMARKETING_GA4_EXPORT_DIR=.*no such folder"):
        run_connector("raw_web", db, _env(tmp_path / "nowhere"))
