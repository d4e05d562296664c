"""A real run of the whole pipeline with the Dagster instance in PostgreSQL (deploy/dagster_postgres)
and the marts published to PostgreSQL, with secrets that must not show anywhere.

The run uses the sample dagster.yaml as is: runs, event logs and schedule state land in a throwaway
PostgreSQL database. The publish DSN carries a password and the PII salt is a secret; neither may
appear in the run's event log, its config, asset metadata or what the UI is served.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.remote_origin import (
    RegisteredCodeLocationOrigin,
    RemoteInstigatorOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.remote_representation.external_data import RepositorySnap
from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus, ScheduleInstigatorData
from dagster._serdes import serialize_value

from orchestration.assets.postgres import POSTGRES_MARTS_KEY
from orchestration.partitions import full_refresh_tags
from tests import pg
from tests.pii_scan import personal_values

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "deploy" / "dagster_postgres" / "dagster.yaml"
PUBLISH_PASSWORD = "pw-Publish-7f3a9c"  # the local server trusts 127.0.0.1, so any password connects
INSTANCE_PASSWORD = "pw-Instance-1b2c3d"
PII_SALT = "salt-Secret-5e6f7a8b9c"
SECRETS = [PUBLISH_PASSWORD, INSTANCE_PASSWORD, PII_SALT]


@pytest.fixture(scope="module")
def bi_role():
    role = pg.unique_name("smarketing_bi_dagster")
    yield role
    pg.drop_role(role)


@pytest.fixture(scope="module")
def databases(bi_role):
    with pg.throwaway_database("dagster_instance") as instance_db, pg.throwaway_database("smarketing_pub") as pub_db:
        yield {"instance": instance_db, "publish": pub_db}


@pytest.fixture(scope="module")
def run(tmp_path_factory, monkeypatch_module, databases, bi_role):
    root = tmp_path_factory.mktemp("dagster_pg")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(SAMPLE, home / "dagster.yaml")
    server = pg.server()
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": server.host,
        "DAGSTER_PG_PORT": str(server.port),
        "DAGSTER_PG_DB": databases["instance"],
        "DAGSTER_PG_USER": server.user,
        "DAGSTER_PG_PASSWORD": INSTANCE_PASSWORD,
        "SMARKETING_WAREHOUSE": str(root / "warehouse.duckdb"),
        "SMARKETING_DEMO_DIR": str(root / "demo_world"),
        "SMARKETING_DEMO_SCALE": "0.01",
        "SMARKETING_PII_SALT": PII_SALT,
        "SMARKETING_PG_PUBLISH_DSN": (
            f"host={server.host} port={server.port} user={server.user} "
            f"password={PUBLISH_PASSWORD} dbname={databases['publish']}"
        ),
        "SMARKETING_PG_BI_ROLE": bi_role,
    }
    for key, value in env.items():
        monkeypatch_module.setenv(key, value)

    from orchestration.definitions import build_definitions
    from orchestration.settings import Settings

    defs = build_definitions(Settings.from_env())
    instance = dg.DagsterInstance.get()
    result = defs.resolve_job_def("daily_refresh").execute_in_process(
        instance=instance, raise_on_error=False, tags=full_refresh_tags()
    )
    yield {"defs": defs, "instance": instance, "result": result, "databases": databases, "root": root}
    instance.dispose()


def _pg_query(dbname: str, sql: str) -> list[tuple]:
    with contextlib.closing(psycopg2.connect(pg.server().dsn(dbname=dbname))) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_the_run_succeeds_and_publishes_the_marts(run):
    result = run["result"]
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert POSTGRES_MARTS_KEY in materialized
    assert dg.AssetKey(["raw_pii", "salt"]) in materialized
    published = dict(_pg_query(run["databases"]["publish"],
                               "select table_name, 1 from information_schema.tables where table_schema = 'marts'"))  # fmt: skip
    assert {"fct_leads", "kpi_weekly", "fct_lead_to_sale", "dim_channel"} <= set(published)
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key == POSTGRES_MARTS_KEY)
    metadata = event.materialization.metadata
    leads = _pg_query(run["databases"]["publish"], "select count(*) from marts.fct_leads")[0][0]
    assert metadata["tables"].value["fct_leads"] == leads > 0


def test_runs_events_and_schedules_live_in_postgres(run):
    instance, result = run["instance"], run["result"]
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
    assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
    db = run["databases"]["instance"]
    assert _pg_query(db, f"select status from runs where run_id = '{result.run_id}'") == [("SUCCESS",)]
    events = _pg_query(db, f"select count(*) from event_logs where run_id = '{result.run_id}'")[0][0]
    assert events == len(instance.all_logs(result.run_id)) > 50
    materializations = _pg_query(
        db, f"select count(distinct asset_key) from event_logs where run_id = '{result.run_id}' "
        "and dagster_event_type = 'ASSET_MATERIALIZATION'"
    )[0][0]
    assert materializations == len({e.asset_key for e in result.get_asset_materialization_events()})
    # Schedule state: the daily schedule switched on is stored in PostgreSQL too, and read back.
    origin = RemoteInstigatorOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=RegisteredCodeLocationOrigin("smarketing"),
            repository_name=run["defs"].get_repository_def().name,
        ),
        instigator_name="daily_refresh_schedule",
    )
    schedule = run["defs"].resolve_schedule_def("daily_refresh_schedule")
    data = ScheduleInstigatorData(schedule.cron_schedule, start_timestamp=time.time())
    instance.add_instigator_state(InstigatorState(origin, InstigatorType.SCHEDULE, InstigatorStatus.RUNNING, data))
    assert _pg_query(db, "select count(*) from jobs where job_type = 'SCHEDULE' and status = 'RUNNING'") == [(1,)]
    with dg.DagsterInstance.get() as fresh:  # another process's view: the run and its events are there
        assert fresh.get_run_by_id(result.run_id).is_success
        assert len(fresh.all_logs(result.run_id)) == events
        assert [s.instigator_name for s in fresh.all_instigator_state()] == ["daily_refresh_schedule"]


def _all_text(run) -> str:
    instance, result = run["instance"], run["result"]
    parts = [serialize_value(record) for record in instance.all_logs(result.run_id)]
    stored = instance.get_run_by_id(result.run_id)
    parts.append(serialize_value(stored))
    return "\n".join(parts)


def test_no_secret_in_event_logs_run_config_or_metadata(run):
    text = _all_text(run)
    assert "SMARKETING_PG_PUBLISH_DSN" not in run["instance"].get_run_by_id(run["result"].run_id).run_config.__repr__()
    for secret in SECRETS:
        assert secret not in text, secret
    # What the UI is served about the code location (resources, their config, jobs).
    snapshot = serialize_value(RepositorySnap.from_def(run["defs"].get_repository_def()))
    assert "SMARKETING_PG_PUBLISH_DSN" in snapshot  # the UI names the variable...
    for secret in SECRETS:
        assert secret not in snapshot, secret  # ...never its value
    # The publish asset names its target without the password.
    event = next(e for e in run["result"].get_asset_materialization_events() if e.asset_key == POSTGRES_MARTS_KEY)
    target = event.materialization.metadata["target"].value
    assert run["databases"]["publish"] in target and "password" not in target


def test_previews_mask_personal_data_and_the_salt(run):
    """Asset previews in the UI: staging's normalised e-mails and phones and the salt are masked."""
    text = _all_text(run)
    contacts = run["root"] / "demo_world" / "raw_crm" / "contacts.parquet"
    import pyarrow.parquet as pq

    emails = [e.strip().lower() for e in pq.read_table(contacts, columns=["email"]).column(0).to_pylist() if e]
    assert not [e for e in emails if e in text][:3]
    assert "| ***" in text or "*** |" in text


def test_no_secret_in_dbt_files(run):
    """dbt's logs and compiled SQL (what an engineer greps after a failure) carry no salt."""
    target = ROOT / "dbt_project" / "target"
    leaked = []
    for path in [*target.rglob("*.sql"), *target.rglob("*.log"), *(ROOT / "dbt_project" / "logs").rglob("*.log")]:
        with contextlib.suppress(OSError):
            if PII_SALT in path.read_text(errors="ignore"):
                leaked.append(path)
    assert leaked == []


def test_published_marts_carry_no_personal_data(run):
    db = run["databases"]["publish"]
    values = []
    for (table,) in _pg_query(db, "select table_name from information_schema.tables where table_schema = 'marts'"):
        with contextlib.closing(psycopg2.connect(pg.server().dsn(dbname=db))) as conn, conn.cursor() as cur:
            cur.execute(f'select * from marts."{table}"')
            names = [d[0] for d in cur.description]
            values += [(table, n, v) for row in cur.fetchall() for n, v in zip(names, row)]
    assert len(values) > 1000
    assert personal_values(values) == []
