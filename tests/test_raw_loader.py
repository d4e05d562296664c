"""The raw loader is contract-checked, idempotent and all-or-nothing per source."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.demo.world import generate_world, write_world
from ingestion.raw_loader import LoadWindow, RawContractError, load_parquet_tables
from ingestion.raw_schema import LOAD_METADATA, RAW_TABLES


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_world")
    write_world(generate_world(scale=0.005, seed=5), out)
    return out


def crm_files(root: Path) -> dict[str, Path]:
    return {table: root / "raw_crm" / f"{table}.parquet" for table in RAW_TABLES["raw_crm"]}


def snapshot(db: Path, schema: str) -> dict[str, pa.Table]:
    con = duckdb.connect(str(db))
    try:
        return {t: con.sql(f"select * from {schema}.{t} order by all").to_arrow_table() for t in RAW_TABLES[schema]}
    finally:
        con.close()


def test_load_twice_gives_identical_tables(demo_files: Path, tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    first = load_parquet_tables(db, "raw_crm", crm_files(demo_files), source="demo")
    before = snapshot(db, "raw_crm")
    second = load_parquet_tables(db, "raw_crm", crm_files(demo_files), source="demo")
    after = snapshot(db, "raw_crm")
    assert all(not t.skipped for t in first.tables.values())
    assert all(t.skipped for t in second.tables.values())
    for table, data in before.items():
        assert data.equals(after[table]), table
        expected_columns = list(RAW_TABLES["raw_crm"][table]) + list(LOAD_METADATA)
        assert data.schema.names == expected_columns
    contacts = first.tables["contacts"]
    assert contacts.rows_in == contacts.rows_loaded == before["contacts"].num_rows > 0
    path = crm_files(demo_files)["contacts"]
    assert contacts.batch_id == hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    loaded = before["contacts"]
    assert set(loaded.column("_batch_id").to_pylist()) == {contacts.batch_id}
    assert set(loaded.column("_source").to_pylist()) == {"demo:contacts.parquet"}


def test_contract_types_are_applied(demo_files: Path, tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    load_parquet_tables(db, "raw_store", {"purchases": demo_files / "raw_store" / "purchases.parquet"}, source="demo")
    con = duckdb.connect(str(db))
    types = dict(con.execute("describe raw_store.purchases").fetchall()[i][:2] for i in range(13))
    con.close()
    assert types["amount"] == "DECIMAL(18,2)"
    assert types["purchased_at"] == "TIMESTAMP"
    assert types["_loaded_at"] == "TIMESTAMP"


def test_wrong_columns_fail_clearly_and_leave_tables_untouched(demo_files: Path, tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    load_parquet_tables(db, "raw_crm", crm_files(demo_files), source="demo")
    before = snapshot(db, "raw_crm")

    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    files = crm_files(demo_files)
    changed_companies = pq.read_table(files["companies"]).slice(0, 10)
    pq.write_table(changed_companies, bad_dir / "companies.parquet")
    contacts = pq.read_table(files["contacts"]).drop_columns(["job_role"]).append_column("favourite_colour", pa.array(["red"] * pq.read_metadata(files["contacts"]).num_rows))
    pq.write_table(contacts, bad_dir / "contacts.parquet")
    files = {**files, "companies": bad_dir / "companies.parquet", "contacts": bad_dir / "contacts.parquet"}

    with pytest.raises(RawContractError) as error:
        load_parquet_tables(db, "raw_crm", files, source="demo")
    message = str(error.value)
    assert "raw_crm.contacts" in message and "contacts.parquet" in message
    assert "job_role" in message and "favourite_colour" in message
    after = snapshot(db, "raw_crm")
    for table, data in before.items():
        assert data.equals(after[table]), table


def test_a_failing_table_rolls_back_the_whole_source(demo_files: Path, tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    load_parquet_tables(db, "raw_crm", crm_files(demo_files), source="demo")
    before = snapshot(db, "raw_crm")

    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    files = crm_files(demo_files)
    # companies changes (would be replaced) but owners has a timestamp the contract type cannot take.
    pq.write_table(pq.read_table(files["companies"]).slice(0, 10), bad_dir / "companies.parquet")
    owners = pq.read_table(files["owners"])
    owners = owners.set_column(
        owners.schema.get_field_index("created_at"), "created_at", pa.array(["not a time"] * owners.num_rows)
    )
    pq.write_table(owners, bad_dir / "owners.parquet")
    files = {**files, "companies": bad_dir / "companies.parquet", "owners": bad_dir / "owners.parquet"}
    assert list(files).index("companies") < list(files).index("owners")

    with pytest.raises(RawContractError, match=r"raw_crm\.owners"):
        load_parquet_tables(db, "raw_crm", files, source="demo")
    after = snapshot(db, "raw_crm")
    for table, data in before.items():
        assert data.equals(after[table]), table


def test_new_file_replaces_only_changed_tables(demo_files: Path, tmp_path: Path) -> None:
    db = tmp_path / "raw.duckdb"
    load_parquet_tables(db, "raw_crm", crm_files(demo_files), source="demo")
    new_dir = tmp_path / "new"
    new_dir.mkdir()
    files = crm_files(demo_files)
    pq.write_table(pq.read_table(files["companies"]).slice(0, 10), new_dir / "companies.parquet")
    result = load_parquet_tables(db, "raw_crm", {**files, "companies": new_dir / "companies.parquet"}, source="demo")
    assert not result.tables["companies"].skipped and result.tables["companies"].rows_loaded == 10
    assert all(t.skipped for name, t in result.tables.items() if name != "companies")


def _web_files(root: Path) -> dict[str, Path]:
    return {table: root / "raw_web" / f"{table}.parquet" for table in RAW_TABLES["raw_web"]}


def test_windowed_loads_rebuild_the_full_load_and_touch_only_their_window(demo_files: Path, tmp_path: Path) -> None:
    madrid = ZoneInfo("Europe/Madrid")
    day = lambda d: dt.datetime.combine(d, dt.time(), madrid)
    full = tmp_path / "full.duckdb"
    load_parquet_tables(full, "raw_web", _web_files(demo_files), source="demo")

    # A full load up to 11-16 Madrid, then the window 11-13..latest: the same tables as one full load.
    partial = tmp_path / "partial.duckdb"
    cut = LoadWindow(start=None, end=day(dt.date(2026, 11, 16)))
    first = load_parquet_tables(partial, "raw_web", _web_files(demo_files), source="demo", window=cut)
    window = LoadWindow(start=day(dt.date(2026, 11, 13)), end=None)
    second = load_parquet_tables(partial, "raw_web", _web_files(demo_files), source="demo", window=window)
    assert second.tables["sessions"].window == "2026-11-13..latest"

    con = duckdb.connect(str(full), read_only=True)
    sessions_total = con.execute("select count(*) from raw_web.sessions").fetchone()[0]
    # Madrid midnight is 23:00 UTC in November: the counts are recomputed here from the full table.
    before_cut = con.execute(
        "select count(*) from raw_web.sessions where session_started_at < timestamp '2026-11-15 23:00:00'"
    ).fetchone()[0]
    in_window = con.execute(
        "select count(*) from raw_web.sessions where session_started_at >= timestamp '2026-11-12 23:00:00'"
    ).fetchone()[0]
    con.close()
    assert first.tables["sessions"].rows_loaded == before_cut < sessions_total
    assert second.tables["sessions"].rows_in == second.tables["sessions"].rows_loaded == in_window
    assert 0 < in_window < sessions_total / 10
    strip = list(LOAD_METADATA)
    for table, data in snapshot(partial, "raw_web").items():
        assert data.drop_columns(strip).sort_by([(data.column_names[0], "ascending")]).equals(
            snapshot(full, "raw_web")[table].drop_columns(strip).sort_by([(data.column_names[0], "ascending")])
        ), table


def test_a_full_load_up_to_a_day_keeps_the_crm_records_that_existed_by_then(demo_files: Path, tmp_path: Path) -> None:
    # A contact created before the cut but updated after it is in the file in its current state only:
    # the load up to the cut takes it (by created_at), else the merges and identified visitors of the
    # days before would point at a contact that is not there. Events stay cut by their own time.
    cut = dt.datetime(2026, 11, 16, tzinfo=ZoneInfo("Europe/Madrid"))
    db = tmp_path / "cut.duckdb"
    result = load_parquet_tables(db, "raw_crm", crm_files(demo_files), source="demo",
                                 window=LoadWindow(start=None, end=cut))  # fmt: skip
    con = duckdb.connect()
    contacts = str(demo_files / "raw_crm" / "contacts.parquet")
    merges = str(demo_files / "raw_crm" / "contact_merges.parquet")
    utc_cut = "timestamp '2026-11-15 23:00:00'"
    existed = con.execute(f"select count(*) from read_parquet('{contacts}') where created_at < {utc_cut}").fetchone()[0]
    updated_later = con.execute(
        f"select count(*) from read_parquet('{contacts}') where created_at < {utc_cut} and updated_at >= {utc_cut}"
    ).fetchone()[0]
    merges_before = con.execute(f"select count(*) from read_parquet('{merges}') where merged_at < {utc_cut}").fetchone()[0]
    con.close()
    assert updated_later > 0  # the case this test is about is in the data
    assert result.tables["contacts"].rows_loaded == existed
    assert result.tables["contact_merges"].rows_loaded == merges_before
    with duckdb.connect(str(db), read_only=True) as loaded:
        dangling = loaded.execute(
            "select count(*) from raw_crm.contact_merges where merged_into_contact_id not in "
            "(select contact_id from raw_crm.contacts)"
        ).fetchone()[0]
    assert dangling == 0


def test_window_predicate_compares_timestamps_in_utc_and_dates_locally() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    window = LoadWindow(start=dt.datetime(2026, 7, 1, tzinfo=madrid), end=dt.datetime(2026, 7, 2, tzinfo=madrid))
    assert window.predicate("session_started_at", "TIMESTAMP") == (
        "(\"session_started_at\" >= cast('2026-06-30 22:00:00' as timestamp) and "
        "\"session_started_at\" < cast('2026-07-01 22:00:00' as timestamp) or \"session_started_at\" is null)"
    )
    assert "cast('2026-07-01' as date)" in window.predicate("segments_date", "DATE")
    assert LoadWindow(start=None, end=None).predicate("x", "TIMESTAMP") is None


def test_full_load_skips_dictionary_compression_and_keeps_the_rows(demo_files: Path, tmp_path: Path) -> None:
    """Raw strings are mostly unique: a load does not spend time on DuckDB's dictionary analysis for the
    row groups it writes (tables of at least one row group; smaller ones go through the WAL)."""
    sessions = pq.read_table(demo_files / "raw_web" / "sessions.parquet")
    big = pa.concat_tables([sessions] * (130_000 // sessions.num_rows + 1))  # > one 122,880-row group
    files = {table: demo_files / "raw_web" / f"{table}.parquet" for table in RAW_TABLES["raw_web"]}
    files["sessions"] = tmp_path / "sessions.parquet"
    pq.write_table(big, files["sessions"])
    db = tmp_path / "raw.duckdb"
    load_parquet_tables(db, "raw_web", files, source="demo")
    con = duckdb.connect(str(db), read_only=True)
    try:
        storage = "select distinct compression from pragma_storage_info('raw_web.sessions')"
        assert "Dictionary" not in {r[0] for r in con.execute(storage).fetchall()}
        for table, path in files.items():
            columns = ", ".join(f'"{c}"' for c in RAW_TABLES["raw_web"][table])
            for a, b in ((f"raw_web.{table}", f"read_parquet('{path}')"), (f"read_parquet('{path}')", f"raw_web.{table}")):
                differ = con.execute(
                    f"select count(*) from (select {columns} from {a} except all select {columns} from {b})"
                ).fetchone()[0]
                assert differ == 0, table
    finally:
        con.close()
