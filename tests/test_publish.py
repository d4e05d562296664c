"""The publish module alone: a complete copy swapped in atomically, or nothing changes."""

from __future__ import annotations

import hashlib
import json

import duckdb
import pytest

from orchestration.publish import PublishError, manifest_path, publish_marts, read_publication


def _warehouse(path, rows: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(f"create table marts.fct_leads as select range as lead_id from range({rows})")
        con.execute("create table marts.kpi_weekly as select 1 as week")
        con.execute("create view marts.v_leads as select * from marts.fct_leads")  # views are not copied
        con.execute("create schema raw_crm")
        con.execute("create table raw_crm.contacts as select 'a@b.com' as email")


def test_publish_then_republish(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving" / "smarketing.duckdb"
    _warehouse(warehouse, 3)
    first = publish_marts(warehouse, serving, "build-1", agreement_version="v1")
    assert first.tables == {"marts.fct_leads": 3, "marts.kpi_weekly": 1}
    assert read_publication(serving) == first
    assert json.loads(manifest_path(serving).read_text())["build_id"] == "build-1"
    with duckdb.connect(str(serving), read_only=True) as con:
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas() where database_name = 'smarketing'").fetchall()}
        assert "raw_crm" not in schemas  # only the marts, never raw personal data
        assert con.execute("select tags['storage_version'] from duckdb_databases() where database_name = 'smarketing'").fetchone()[0] == "v1.0.0+"

    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.fct_leads values (99)")
    second = publish_marts(warehouse, serving, "build-2")
    assert second.tables["marts.fct_leads"] == 4
    assert read_publication(serving).build_id == "build-2"
    assert sorted(p.name for p in serving.parent.iterdir()) == ["smarketing.duckdb", "smarketing.manifest.json"]


def test_a_failed_publish_leaves_the_published_file_untouched(tmp_path, monkeypatch):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving" / "smarketing.duckdb"
    _warehouse(warehouse, 3)
    publish_marts(warehouse, serving, "good")
    before = hashlib.sha256(serving.read_bytes()).hexdigest()
    with pytest.raises(PublishError, match="not a known DuckDB version"):
        publish_marts(warehouse, serving, "bad", storage_version="v0.0.1")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(PublishError, match="nothing to publish"):
        publish_marts(empty, serving, "empty")
    # A crash at the very last moment (the swap itself): the new copy is discarded.
    import orchestration.publish as publish_module

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(publish_module.os, "replace", failing_replace)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.fct_leads values (99)")
    with pytest.raises(OSError, match="disk full"):
        publish_marts(warehouse, serving, "crashed")
    monkeypatch.undo()
    assert hashlib.sha256(serving.read_bytes()).hexdigest() == before
    assert read_publication(serving).build_id == "good"
    assert sorted(p.name for p in serving.parent.iterdir()) == ["smarketing.duckdb", "smarketing.manifest.json"]


def test_the_weekly_snapshot_is_published_beside_the_marts(tmp_path):
    from orchestration.weekly.snapshot import DDL, TABLE

    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving" / "smarketing.duckdb"
    _warehouse(warehouse, 3)
    # Before the first weekly snapshot there is no `snapshots` schema: the marts are published alone.
    assert set(publish_marts(warehouse, serving, "build-1").tables) == {"marts.fct_leads", "marts.kpi_weekly"}
    with duckdb.connect(str(warehouse)) as con:
        con.execute(DDL)  # the snapshot asset's own table definition
        con.execute(f"""
            insert into {TABLE} values
            ('2026-11-16', '2026-W47', 'leads', 'Leads', 'marketing', 'period', 'count', 'channel', 'Email',
             null, 12, 10, 2, 0.2, null, null, '2026-11-23 07:00:00', 'run-1')
        """)
    second = publish_marts(warehouse, serving, "build-2")
    assert second.tables == {"marts.fct_leads": 3, "marts.kpi_weekly": 1, "snapshots.kpi_snapshot": 1}
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select iso_week, kpi, value from snapshots.kpi_snapshot").fetchall() == [("2026-W47", "leads", 12.0)]
        assert con.execute("select row_count from meta.published_tables where table_name = 'snapshots.kpi_snapshot'").fetchone() == (1,)
        # Still nothing else from the warehouse.
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_tables()").fetchall()}
        assert schemas == {"marts", "snapshots", "meta"}


def _rows(path, table: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)


def test_large_tables_are_republished_as_their_differences(tmp_path):
    from orchestration.publish import MAX_DELTA_PUBLICATIONS

    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving" / "smarketing.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_big as select range as id, range % 7 as v, null::varchar as note from range(1000)")
        con.execute("create table marts.fct_small as select 1 as id")
        con.execute("create table marts.fct_gone as select 1 as id")
    first = publish_marts(warehouse, serving, "b1", delta_min_rows=100)
    assert first.differences == {} and first.delta_publications == 0  # nothing to build on: a full copy

    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from marts.fct_big where id < 10")  # 10 rows leave
        con.execute("update marts.fct_big set note = 'restated' where id between 500 and 504")  # 5 change
        con.execute("update marts.fct_big set id = v, v = id where id = 701")  # (701, 1) -> (1, 701): the hash sees order
        con.execute("insert into marts.fct_big select range, 0, 'new' from range(1000, 1020)")  # 20 arrive
        con.execute("drop table marts.fct_gone")
        con.execute("create table marts.fct_new as select 2 as id")
    second = publish_marts(warehouse, serving, "b2", delta_min_rows=100)
    assert second.differences == {"marts.fct_big": {"deleted": 16, "inserted": 26}}
    assert second.delta_publications == 1
    assert second.tables == {"marts.fct_big": 1010, "marts.fct_new": 1, "marts.fct_small": 1}
    assert _rows(serving, "marts.fct_big") == _rows(warehouse, "marts.fct_big")
    with duckdb.connect(str(serving), read_only=True) as con:
        assert {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()} == {
            "fct_big", "fct_new", "fct_small"}  # fmt: skip
        assert con.execute("select count(*) from meta.published_tables").fetchone() == (3,)

    # A changed column list, or duplicate rows the hashes cannot tell apart, are copied whole.
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.fct_big select * from marts.fct_big where id = 600")
    third = publish_marts(warehouse, serving, "b3", delta_min_rows=100)
    assert third.differences == {"marts.fct_big": {"copied_whole": 1}}
    assert _rows(serving, "marts.fct_big") == _rows(warehouse, "marts.fct_big")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table marts.fct_big add column extra integer")
    fourth = publish_marts(warehouse, serving, "b4", delta_min_rows=100)
    assert fourth.differences == {} and fourth.delta_publications == 0
    assert _rows(serving, "marts.fct_big") == _rows(warehouse, "marts.fct_big")

    # Deleted rows leave holes in the file: after a run of differences, one publication copies afresh.
    counts = [publish_marts(warehouse, serving, f"d{i}", delta_min_rows=100).delta_publications
              for i in range(MAX_DELTA_PUBLICATIONS + 1)]  # fmt: skip
    assert counts == list(range(1, MAX_DELTA_PUBLICATIONS + 1)) + [0]
    assert read_publication(serving).build_id == f"d{MAX_DELTA_PUBLICATIONS}"
