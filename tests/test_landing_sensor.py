"""The Dagster side of file mode: the sensor's run keys and the raw asset loading dropped files."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from ingestion.files.loader import checksum
from ingestion.raw_loader import load_parquet_tables
from orchestration.assets.ingestion import raw_source_assets
from orchestration.resources import build_resources
from orchestration.sensors import landing_files_sensor
from orchestration.settings import Settings
from tests.test_file_mode import ES_TWO, es_csv, es_row

LOAD_CRM = next(a for a in raw_source_assets if a.node_def.name == "load_raw_crm")


@pytest.fixture
def files_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("SMARKETING_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("SMARKETING_DEMO_DIR", str(tmp_path / "demo"))
    monkeypatch.setenv("SMARKETING_SOURCE_MODE_CRM", "files")
    monkeypatch.setenv("SMARKETING_LANDING_DIR", str(tmp_path / "landing"))
    landing = tmp_path / "landing" / "crm"
    landing.mkdir(parents=True)
    return landing


def _evaluate():
    with dg.instance_for_test() as instance:
        return landing_files_sensor.evaluate_tick(dg.build_sensor_context(instance=instance))


def _materialize(tags: dict[str, str]):
    with dg.instance_for_test() as instance:
        return dg.materialize([LOAD_CRM], resources=build_resources(Settings.from_env()), tags=tags,
                              instance=instance, raise_on_error=False)  # fmt: skip


def test_sensor_keys_runs_by_content(files_mode):
    content = es_csv(ES_TWO).encode("cp1252")
    (files_mode / "contactos-lunes.csv").write_bytes(content)
    (files_mode / "contactos-lunes (copia).csv").write_bytes(content)
    (files_mode / "contactos-martes.csv").write_bytes(es_csv([es_row(3)]).encode())
    requests = _evaluate().run_requests
    keys = [r.run_key for r in requests]
    assert len(requests) == 3 and len(set(keys)) == 2  # the copy has the same run key: Dagster runs it once
    assert set(keys) == {checksum(files_mode / "contactos-lunes.csv"), checksum(files_mode / "contactos-martes.csv")}
    assert {k.to_user_string() for k in requests[0].asset_selection} == {
        "raw_crm/contacts", "raw_crm/companies", "raw_crm/owners", "raw_crm/engagements", "raw_crm/deals",
        "raw_crm/deal_stage_history", "raw_crm/contact_merges"}


def test_sensor_is_idle_for_demo_sources(files_mode, monkeypatch):
    monkeypatch.setenv("SMARKETING_SOURCE_MODE_CRM", "demo")
    (files_mode / "contactos.csv").write_bytes(es_csv(ES_TWO).encode())
    result = _evaluate()
    assert not result.run_requests and "no new files" in result.skip_message


def test_triggered_run_loads_reconciles_and_the_sensor_then_skips_the_copy(files_mode, tmp_path):
    rows = [es_row(1), es_row(2, **{"Fecha de creación": "no es fecha"}), es_row(3)]
    (files_mode / "contactos-1.csv").write_bytes(es_csv(rows).encode("cp1252"))
    result = _materialize({"smarketing/landing_file": "contactos-1.csv"})
    assert result.success
    meta = {m.asset_key.to_user_string(): m.metadata for m in result.asset_materializations_for_node("load_raw_crm")}
    contacts = meta["raw_crm/contacts"]
    assert (contacts["rows_in"].value, contacts["rows_loaded"].value, contacts["rows_quarantined"].value) == (3, 2, 1)
    assert contacts["reconciled"].value is True and contacts["dagster/row_count"].value == 2
    assert meta["raw_crm/deals"]["dagster/row_count"].value == 0  # every table of the source exists for dbt
    assert "***" in contacts["preview"].value and "p1@example.es" not in contacts["preview"].value
    assert not (files_mode / "contactos-1.csv").exists()
    (files_mode / "contactos-copy.csv").write_bytes(es_csv(rows).encode("cp1252"))
    assert not _evaluate().run_requests  # content already in the ledger
    swept = _materialize({})  # the next run moves the copy aside without loading it
    assert swept.success and not (files_mode / "contactos-copy.csv").exists()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw_crm.contacts").fetchone()[0] == 2


def test_rejected_file_fails_the_run_with_its_reason(files_mode):
    (files_mode / "contactos-vacio.csv").write_bytes(b"")
    result = _materialize({"smarketing/landing_file": "contactos-vacio.csv"})
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "contactos-vacio.csv: rejected: empty file" in failure.step_failure_data.error.message + str(
        failure.step_failure_data.user_failure_data.description)
    assert list((files_mode / "_rejected").glob("*contactos-vacio.csv"))


def test_switching_a_source_from_demo_to_files_removes_demo_rows(files_mode, tmp_path):
    from tests.test_file_mode import contact, parquet_bytes

    demo_file = tmp_path / "contacts.parquet"
    demo_file.write_bytes(parquet_bytes([{k: v or None for k, v in contact(n).items()} for n in (7, 8)]))
    load_parquet_tables(tmp_path / "w.duckdb", "raw_crm", {"contacts": demo_file}, source="demo")
    (files_mode / "contactos-1.csv").write_bytes(es_csv(ES_TWO).encode("cp1252"))
    assert _materialize({}).success
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute("select contact_id, _source from raw_crm.contacts order by 1").fetchall()
    assert rows == [("101", "file:contactos-1.csv"), ("102", "file:contactos-1.csv")]
