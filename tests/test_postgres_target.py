"""PostgreSQL as a dbt target and as a serving target, and personal data kept out of the marts.

One small demo world is loaded into a DuckDB raw layer; dbt builds it on DuckDB and, from a copy of
the same raw tables, on a throwaway PostgreSQL database. The two builds must agree row for row.
The marts (and a weekly KPI snapshot) are then published into another PostgreSQL database, read by a
read-only BI role, and republished while readers query them; and to the serving DuckDB file and its
Parquet copy, which the personal-data scan reads too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import psycopg2
import psycopg2.errors
import pytest

from ingestion.demo.world import generate_world, write_world
from ingestion.pii_salt import write_pii_salt
from ingestion.raw_loader import load_parquet_tables
from ingestion.raw_schema import RAW_TABLES
from orchestration import publish as serving_publish
from orchestration.agreement import load_agreement
from orchestration.weekly.snapshot import DDL as SNAPSHOT_DDL
from postgres_target.copy import copy_schemas, duckdb_tables
from postgres_target.publish import QUICK_LOCK_SECONDS, ensure_bi_role, grant_bi_read, publish_marts
from tests import pg
from tests.pii_scan import duckdb_values, parquet_values, personal_values, phone_digits

ROOT = Path(__file__).resolve().parent.parent
DBT_DIR = ROOT / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))
SCALE = 0.01
SALT = "test-salt-for-the-postgres-suite"
# Every mart the dbt project declares (the manifest is prepared by `make manifest` before the tests).
MARTS = sorted(
    node["name"]
    for node in json.loads((DBT_DIR / "target" / "manifest.json").read_text())["nodes"].values()
    if node["resource_type"] == "model" and node["schema"] == "marts" and node["config"]["enabled"]
)
# Attribution models that only the DuckDB build has (a dbt Python model; dbt-postgres runs none).
DUCKDB_ONLY_ATTRIBUTION_MODELS = {"markov", "shapley"}


def run_dbt(args: list[str], env: dict[str, str], target_path: Path) -> subprocess.CompletedProcess:
    command = [
        DBT, *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
        "--target-path", str(target_path), "--log-path", str(target_path / "logs"),
        "--vars", json.dumps(load_agreement(ROOT / "agreement.yml").dbt_vars()),
    ]  # fmt: skip
    return subprocess.run(
        command, check=False, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=1200
    )


def failed_nodes(target_path: Path) -> list[tuple[str, str, str]]:
    results = json.loads((target_path / "run_results.json").read_text())["results"]
    return [(r["unique_id"], r["status"], r.get("message")) for r in results if r["status"] not in ("success", "pass", "no-op")]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """A DuckDB raw layer holding one small demo world, with the test's PII salt."""
    root = tmp_path_factory.mktemp("pg_target")
    world = generate_world(scale=SCALE, seed=11)
    write_world(world, root / "world")
    db = root / "warehouse.duckdb"
    for schema, tables in RAW_TABLES.items():
        load_parquet_tables(db, schema, {t: root / "world" / schema / f"{t}.parquet" for t in tables}, "demo")
    write_pii_salt(db, SALT)
    return {"root": root, "db": db, "world": world}


@pytest.fixture(scope="module")
def duckdb_build(warehouse):
    target = warehouse["root"] / "target_duckdb"
    done = run_dbt(["build", "--target", "duckdb"], {"SMARKETING_WAREHOUSE": str(warehouse["db"])}, target)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return {"db": warehouse["db"], "target": target}


@pytest.fixture(scope="module")
def pg_database(bi_role):  # the role outlives every database that grants it something
    with pg.throwaway_database() as name:
        yield name


@pytest.fixture(scope="module")
def postgres_build(warehouse, pg_database):
    """The raw layer copied into PostgreSQL, then `dbt build --target postgres` on it."""
    server = pg.server()
    with contextlib.closing(psycopg2.connect(server.dsn(dbname=pg_database))) as conn:
        copied = copy_schemas(warehouse["db"], conn, [*RAW_TABLES, "raw_pii"])
    target = warehouse["root"] / "target_postgres"
    started = time.perf_counter()
    done = run_dbt(["build", "--target", "postgres"], server.env(dbname=pg_database), target)
    seconds = time.perf_counter() - started
    return {"done": done, "target": target, "copied": copied, "dbname": pg_database, "seconds": seconds}


def _normalise(value: object) -> object:
    if isinstance(value, (float, decimal.Decimal)):
        return round(float(value), 6)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _sorted_rows(rows: list[tuple]) -> list[tuple]:
    normalised = [tuple(_normalise(v) for v in row) for row in rows]
    return sorted(normalised, key=lambda r: tuple((v is None, str(v)) for v in r))


def _duckdb_rows(db: Path, relation: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(f"select * from {relation}")
        return [d[0] for d in cursor.description], cursor.fetchall()


def _pg_rows(dbname: str, relation: str) -> tuple[list[str], list[tuple]]:
    with contextlib.closing(psycopg2.connect(pg.server().dsn(dbname=dbname))) as conn, conn.cursor() as cur:
        cur.execute(f"select * from {relation}")
        return [d[0] for d in cur.description], cur.fetchall()


# --------------------------------------------------------------------------------------------------
# dbt on PostgreSQL
# --------------------------------------------------------------------------------------------------


def test_raw_layer_copied_to_postgres_row_for_row(warehouse, postgres_build):
    copied = postgres_build["copied"]
    for (schema, table), data in warehouse["world"].tables.items():
        assert copied[f"{schema}.{table}"] == data.num_rows, (schema, table)
    assert copied["raw_pii.salt"] == 1


def test_dbt_build_passes_on_postgres(postgres_build, duckdb_build):
    done = postgres_build["done"]
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert failed_nodes(postgres_build["target"]) == []
    results = json.loads((postgres_build["target"] / "run_results.json").read_text())["results"]
    kinds = {}
    for r in results:
        kind = r["unique_id"].split(".")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    # The same nodes as on DuckDB: every model, seed, data test and unit test ran on PostgreSQL, except
    # the data-driven attribution (its weights are a dbt Python model, which only the DuckDB adapter runs)
    # and the paths it is fitted on, with their tests.
    data_driven = ("int_attribution_channel_weights", "int_touchpoints_credited_data_driven", "int_attribution_paths",
                   "int_attribution_conversion_paths", "int_attribution_person_paths")  # fmt: skip
    duck_results = json.loads((duckdb_build["target"] / "run_results.json").read_text())["results"]

    def on_data_driven(unique_id: str) -> bool:  # the model itself, or a test named after it
        name = unique_id.split(".")[2]
        return any(name == model or f"_{model}_" in f"_{name}_" for model in data_driven)

    duckdb_only = {r["unique_id"] for r in duck_results if on_data_driven(r["unique_id"])}
    assert {u for u in duckdb_only if u.startswith("model.")} == {f"model.smarketing.{m}" for m in data_driven}
    assert sorted(r["unique_id"] for r in results) == sorted(
        r["unique_id"] for r in duck_results if r["unique_id"] not in duckdb_only
    )
    assert kinds["model"] >= 30 and kinds["seed"] == 3 and kinds["test"] >= 50 and kinds["unit_test"] >= 1, kinds
    print(f"dbt build --target postgres: {kinds} in {postgres_build['seconds']:.1f} s")


@pytest.mark.parametrize("mart", MARTS)
def test_postgres_marts_equal_duckdb_marts(mart, duckdb_build, postgres_build):
    assert postgres_build["done"].returncode == 0
    duck_columns, duck_rows = _duckdb_rows(duckdb_build["db"], f"marts.{mart}")
    pg_columns, pg_rows = _pg_rows(postgres_build["dbname"], f"marts.{mart}")
    assert pg_columns == duck_columns
    if "attribution_model" in duck_columns:
        model = duck_columns.index("attribution_model")
        assert {r[model] for r in duck_rows} >= DUCKDB_ONLY_ATTRIBUTION_MODELS
        duck_rows = [r for r in duck_rows if r[model] not in DUCKDB_ONLY_ATTRIBUTION_MODELS]
    assert len(pg_rows) == len(duck_rows) > 0
    assert _sorted_rows(pg_rows) == _sorted_rows(duck_rows)


def test_key_figures_agree_with_the_raw_data(warehouse, duckdb_build, postgres_build):
    tables = warehouse["world"].tables
    contacts = tables[("raw_crm", "contacts")].num_rows
    won = sum(1 for s in tables[("raw_crm", "deals")].column("deal_stage").to_pylist() if s.lower() == "closedwon")
    purchases = tables[("raw_store", "purchases")].num_rows
    query = """
        select
            (select sum(leads) from marts.kpi_weekly),
            (select count(*) from marts.fct_leads),
            (select count(*) from marts.fct_lead_to_sale),
            (select round(sum(amount_reporting), 2) from marts.fct_lead_to_sale),
            (select round(sum(revenue_reporting) + sum(walk_in_revenue_reporting), 2) from marts.kpi_weekly)
    """
    with duckdb.connect(str(duckdb_build["db"]), read_only=True) as con:
        duck = con.execute(query).fetchone()
    dsn = pg.server().dsn(dbname=postgres_build["dbname"])
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute(query)
        postgres = cur.fetchone()
    assert [float(v) for v in postgres] == [float(v) for v in duck]
    leads, fct_leads, sales, revenue, kpi_revenue = duck
    assert leads == fct_leads == contacts
    assert sales == won + purchases
    assert float(revenue) == pytest.approx(float(kpi_revenue), abs=0.01) and revenue > 0


# --------------------------------------------------------------------------------------------------
# Personal data: salted hashes only
# --------------------------------------------------------------------------------------------------


def test_email_hash_is_the_salted_sha256_of_the_normalised_email(warehouse, duckdb_build, postgres_build):
    contacts = warehouse["world"].tables[("raw_crm", "contacts")].to_pylist()
    expected = {
        str(c["contact_id"]): hashlib.sha256(f"{SALT}:{c['email'].strip().lower()}".encode()).hexdigest()
        if c["email"] and c["email"].strip() else None
        for c in contacts
    }
    for rows in (
        _duckdb_rows(duckdb_build["db"], "marts.fct_leads")[1],
        _pg_rows(postgres_build["dbname"], "marts.fct_leads")[1],
    ):
        columns = _duckdb_rows(duckdb_build["db"], "marts.fct_leads")[0]
        lead, email_hash = columns.index("lead_id"), columns.index("email_hash")
        assert {r[lead]: r[email_hash] for r in rows} == expected
    # An unsalted hash (what a dictionary attack would try) is not what the mart holds.
    plain = {hashlib.sha256(c["email"].strip().lower().encode()).hexdigest() for c in contacts if c["email"]}
    assert plain.isdisjoint(expected.values())


def _mart_values_duckdb(db: Path, schema: str = "marts"):
    with duckdb.connect(str(db), read_only=True) as con:
        for table in duckdb_tables(con, schema):
            cursor = con.execute(f"select * from {schema}.{table}")
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                for name, value in zip(names, row):
                    yield table, name, value


def _mart_values_postgres(dbname: str, schema: str = "marts"):
    with contextlib.closing(psycopg2.connect(pg.server().dsn(dbname=dbname))) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = %s order by 1", [schema]
        )
        for (table,) in cur.fetchall():
            cur.execute(f'select * from {schema}."{table}"')
            names = [d[0] for d in cur.description]
            for row in cur.fetchall():
                for name, value in zip(names, row):
                    yield table, name, value


def _known_phones(world) -> set[str]:
    tables = world.tables
    return phone_digits(
        tables[("raw_crm", "contacts")].column("phone").to_pylist()
        + tables[("raw_web", "form_submissions")].column("phone").to_pylist()
    )


def test_the_scan_finds_personal_data_where_it_is(warehouse, duckdb_build):
    # The scan itself works: run on staging's contacts it finds the e-mails and the phones.
    phones = _known_phones(warehouse["world"])
    found = personal_values(_mart_values_duckdb(duckdb_build["db"], "raw_crm"), phones)
    assert {column for _, column, _ in found} >= {"email", "phone"}


def test_no_mart_column_holds_an_email_or_a_phone(warehouse, duckdb_build, postgres_build, published, serving):
    phones = _known_phones(warehouse["world"])
    assert len(phones) > 10
    scanned = {
        "duckdb warehouse marts": _mart_values_duckdb(duckdb_build["db"]),
        "dbt on postgres marts": _mart_values_postgres(postgres_build["dbname"]),
        "published postgres marts": _mart_values_postgres(published["dbname"]),
        "published postgres snapshots": _mart_values_postgres(published["dbname"], "snapshots"),
        "serving duckdb file": duckdb_values(serving["file"], ["marts", "snapshots", "meta"]),
        "serving parquet copy": parquet_values(serving["parquet"] / "current"),
    }
    # Every published table is scanned (one file per table in the Parquet copy).
    every_table = {*MARTS, "kpi_snapshot"}
    expected_tables = {
        "duckdb warehouse marts": set(MARTS),
        "dbt on postgres marts": set(MARTS),
        "published postgres marts": set(MARTS),
        "published postgres snapshots": {"kpi_snapshot"},
        "serving duckdb file": {*(f"marts.{m}" for m in MARTS), "snapshots.kpi_snapshot", "meta.publication",
                                "meta.published_tables"},
        "serving parquet copy": {f"{m}.parquet" for m in MARTS} | {"snapshots/kpi_snapshot.parquet"},
    }  # fmt: skip
    assert len(every_table) == len(MARTS) + 1
    for where, values in scanned.items():
        values = list(values)
        assert {t for t, _, _ in values} == expected_tables[where], where
        found = personal_values(values, phones)
        assert found == [], f"{where}: {found[:5]}"


def test_the_scan_reads_the_serving_file_and_the_parquet_copy(warehouse, serving, tmp_path):
    # A serving file and a Parquet copy that do leak (an e-mail in a struct, a phone in a list): found.
    leaky = tmp_path / "leaky.duckdb"
    with duckdb.connect(str(leaky)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_leads as select 'l1' as lead_id, "
                    "{'who': 'Ana.Lopez@example.com'} as contact, ['+34 600 123 456'] as phones")  # fmt: skip
    served = serving_publish.publish_marts(leaky, tmp_path / "serving" / "leaky.duckdb", "leaky")
    folder = serving_publish.publish_parquet(Path(served.serving_path), tmp_path / "parquet")
    for values in (duckdb_values(Path(served.serving_path), ["marts"]), parquet_values(folder)):
        found = personal_values(values, {"34600123456"})
        assert sorted(column for _, column, _ in found) == ["contact", "phones"]


# --------------------------------------------------------------------------------------------------
# Publishing to PostgreSQL, and the read-only BI role
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bi_role():
    role = pg.unique_name("smarketing_bi_test")
    yield role
    pg.drop_role(role)


@pytest.fixture(scope="module")
def with_snapshot(duckdb_build):
    """A copy of the built warehouse after a weekly snapshot: `snapshots.kpi_snapshot` (the snapshot
    asset's own DDL) holds one week's leads per channel, from kpi_weekly."""
    db = duckdb_build["db"].parent / "warehouse_with_snapshot.duckdb"
    shutil.copy(duckdb_build["db"], db)
    with duckdb.connect(str(db)) as con:
        con.execute(SNAPSHOT_DDL)
        con.execute("""
            insert into snapshots.kpi_snapshot
            select week_start_date, 'W', 'leads', 'Leads', 'marketing', 'period', 'count', 'channel', channel,
                   null, sum(leads), null, null, null, null, null, timestamp '2026-11-23 07:00:00', 'run-test'
            from marts.kpi_weekly
            where week_start_date = (select max(week_start_date) from marts.kpi_weekly)
            group by week_start_date, channel
        """)
        rows = con.execute("select count(*) from snapshots.kpi_snapshot").fetchone()[0]
    assert rows > 0
    return {"db": db, "snapshot_rows": rows}


@pytest.fixture(scope="module")
def serving(with_snapshot):
    """The serving DuckDB file and its Parquet copy, as the publish asset writes them."""
    file = with_snapshot["db"].parent / "serving" / "smarketing.duckdb"
    publication = serving_publish.publish_marts(with_snapshot["db"], file, "build-pg-suite")
    parquet = file.parent / "parquet"
    serving_publish.publish_parquet(file, parquet)
    return {"file": file, "parquet": parquet, "publication": publication}


@pytest.fixture(scope="module")
def published(with_snapshot, bi_role):
    """The marts (and the snapshot) published into a serving database that also holds a raw and a
    staging schema."""
    with pg.throwaway_database("smarketing_serving") as dbname:
        dsn = pg.server().dsn(dbname=dbname)
        with contextlib.closing(psycopg2.connect(dsn)) as conn:
            copy_schemas(with_snapshot["db"], conn, ["raw_crm"])
            with conn, conn.cursor() as cur:
                cur.execute("create schema staging")
                cur.execute("create view staging.contacts as select contact_id, email from raw_crm.contacts")
        started = time.perf_counter()
        result = publish_marts(with_snapshot["db"], dsn, bi_role=bi_role)
        seconds = time.perf_counter() - started
        yield {"dbname": dbname, "dsn": dsn, "result": result, "seconds": seconds}


def _bi_connection(dbname: str, role: str) -> psycopg2.extensions.connection:
    server = pg.server()
    return psycopg2.connect(host=server.host, port=server.port, user=role, dbname=dbname)


def _denied(conn, sql: str) -> bool:
    with conn.cursor() as cur:
        try:
            cur.execute(sql)
        except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ReadOnlySqlTransaction):
            conn.rollback()
            return True
    conn.rollback()
    return False


def test_publish_copies_every_mart_and_the_snapshot(duckdb_build, with_snapshot, published):
    result = published["result"]
    assert sorted(result.tables) == MARTS
    assert result.other_tables == {"snapshots.kpi_snapshot": with_snapshot["snapshot_rows"]}
    _, duck_rows = _duckdb_rows(with_snapshot["db"], "snapshots.kpi_snapshot")
    assert _sorted_rows(_pg_rows(published["dbname"], "snapshots.kpi_snapshot")[1]) == _sorted_rows(duck_rows)
    for mart in MARTS:
        _, duck_rows = _duckdb_rows(duckdb_build["db"], f"marts.{mart}")
        _, pg_rows = _pg_rows(published["dbname"], f"marts.{mart}")
        assert result.tables[mart] == len(duck_rows) == len(pg_rows)
        assert _sorted_rows(pg_rows) == _sorted_rows(duck_rows)
    print(f"published {result.total_rows} rows in {len(result.tables)} marts in {published['seconds']:.2f} s")


def test_bi_role_reads_the_marts_and_the_snapshot_and_nothing_else(published, bi_role):
    with contextlib.closing(_bi_connection(published["dbname"], bi_role)) as conn:
        with conn.cursor() as cur:
            for mart in MARTS:
                cur.execute(f"select count(*) from marts.{mart}")
                assert cur.fetchone()[0] == published["result"].tables[mart]
            cur.execute("select count(*) from snapshots.kpi_snapshot")
            assert cur.fetchone()[0] == published["result"].other_tables["snapshots.kpi_snapshot"]
        conn.rollback()
        assert _denied(conn, "delete from snapshots.kpi_snapshot")
        assert _denied(conn, "create table snapshots.mine (x int)")
        assert _denied(conn, "select * from raw_crm.contacts limit 1")
        assert _denied(conn, "select * from staging.contacts limit 1")
        assert _denied(conn, "insert into marts.dim_channel (channel) values ('x')")
        assert _denied(conn, "delete from marts.fct_leads")
        assert _denied(conn, "update marts.kpi_weekly set leads = 0")
        assert _denied(conn, "create table marts.mine (x int)")
        assert _denied(conn, "create table public.mine (x int)")
        assert _denied(conn, "drop table marts.fct_leads")
        # Even with the read-only default switched off, the role has no write privilege.
        with conn.cursor() as cur:
            cur.execute("set default_transaction_read_only = off")
        conn.commit()
        assert _denied(conn, "truncate marts.fct_leads")
        assert _denied(conn, "insert into marts.dim_channel (channel) values ('x')")
        assert _denied(conn, "create table public.mine (x int)")


def test_bi_role_on_the_dbt_postgres_build_cannot_read_raw_or_staging(postgres_build, bi_role):
    assert postgres_build["done"].returncode == 0
    dsn = pg.server().dsn(dbname=postgres_build["dbname"])
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn, conn.cursor() as cur:
        ensure_bi_role(cur, bi_role)
        grant_bi_read(cur, "marts", bi_role)
    with contextlib.closing(_bi_connection(postgres_build["dbname"], bi_role)) as conn:
        with conn.cursor() as cur:
            cur.execute("select count(*) from marts.fct_leads")
            assert cur.fetchone()[0] > 0
        conn.rollback()
        for relation in (
            "raw_crm.contacts", "raw_pii.salt", "staging.stg_crm__contacts", "staging.stg_pii__salt",
            "intermediate.int_visitors_identified", "seeds.fx_rates",
        ):  # fmt: skip
            assert _denied(conn, f"select * from {relation} limit 1"), relation
        assert _denied(conn, "delete from marts.fct_leads")


def _published_schemas(dsn: str) -> list[str]:
    with contextlib.closing(psycopg2.connect(dsn)) as conn, conn.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname like 'marts%%' or nspname like 'snapshots%%' order by 1")
        return [r[0] for r in cur.fetchall()]


def test_republishing_is_idempotent(with_snapshot, published, bi_role):
    relations = ("marts.fct_leads", "marts.kpi_weekly", "snapshots.kpi_snapshot")
    before = {r: _pg_rows(published["dbname"], r)[1] for r in relations}
    again = publish_marts(with_snapshot["db"], published["dsn"], bi_role=bi_role)
    assert again.tables == published["result"].tables
    assert again.other_tables == published["result"].other_tables
    for relation, rows in before.items():
        assert _sorted_rows(_pg_rows(published["dbname"], relation)[1]) == _sorted_rows(rows)
    assert _published_schemas(published["dsn"]) == ["marts", "snapshots"]  # no __publishing or __previous left


def test_readers_never_see_an_error_or_a_mix_while_marts_are_republished(with_snapshot, published, bi_role):
    """BI readers query the marts and the snapshot in a loop while two different builds are published in turn."""
    other = published["dsn"]
    build_a = with_snapshot["db"]
    build_b = build_a.parent / "warehouse_b.duckdb"
    shutil.copy(build_a, build_b)
    with duckdb.connect(str(build_b)) as con:  # a "next build": fewer leads, sessions and weeks
        con.execute("delete from marts.fct_leads where lead_id in (select lead_id from marts.fct_leads limit 7)")
        con.execute("delete from marts.fct_web_sessions where session_id in "
                    "(select session_id from marts.fct_web_sessions limit 5)")  # fmt: skip
        con.execute("delete from marts.kpi_weekly where week_start_date = (select min(week_start_date) from marts.kpi_weekly)")
        con.execute("delete from snapshots.kpi_snapshot where dimension_value = "
                    "(select min(dimension_value) from snapshots.kpi_snapshot)")  # fmt: skip

    # The snapshot schema is swapped in the same transaction as the marts: never one build's marts
    # with the other's snapshot.
    counts = ["(select count(*) from marts.fct_leads)", "(select count(*) from marts.fct_web_sessions)",
              "(select count(*) from marts.kpi_weekly)", "(select count(*) from marts.dim_channel)",
              "(select count(*) from snapshots.kpi_snapshot)"]  # fmt: skip
    forward = "select " + ", ".join(counts)
    backward = "select " + ", ".join(reversed(counts))

    def snapshot(db: Path) -> tuple:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(forward).fetchone()

    expected = {snapshot(build_a), snapshot(build_b)}
    assert len(expected) == 2
    stop = threading.Event()
    seen: list[tuple] = []
    errors: list[BaseException] = []

    def reader(query: str, reverse: bool) -> None:
        try:
            with contextlib.closing(_bi_connection(published["dbname"], bi_role)) as conn:
                conn.autocommit = True
                with conn.cursor() as cur:
                    while not stop.is_set():
                        cur.execute(query)
                        row = tuple(cur.fetchone())
                        seen.append(tuple(reversed(row)) if reverse else row)
        except BaseException as exc:  # noqa: BLE001 - any error is the failure under test
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(q, q is backward)) for q in (forward, backward, forward)]
    for t in threads:
        t.start()
    publishes = 0
    try:
        for db in (build_b, build_a, build_b, build_a):
            publish_marts(db, other, bi_role=bi_role)
            publishes += 1
            time.sleep(0.2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert errors == []
    assert publishes == 4
    assert len(seen) > 50
    assert set(seen) <= expected, set(seen) - expected
    assert set(seen) == expected  # both builds were seen while reading
    print(f"{len(seen)} reader queries during {publishes} publishes, no error, no mix")


# --------------------------------------------------------------------------------------------------
# BI: exposures and docs
# --------------------------------------------------------------------------------------------------


def test_dbt_docs_generate_documents_marts_and_dashboards(warehouse, duckdb_build):
    target = warehouse["root"] / "target_docs"
    done = run_dbt(["docs", "generate", "--target", "duckdb"], {"SMARKETING_WAREHOUSE": str(warehouse["db"])}, target)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert (target / "index.html").stat().st_size > 10_000
    catalog = json.loads((target / "catalog.json").read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    for mart in MARTS:
        node = catalog["nodes"][f"model.smarketing.{mart}"]
        documented = manifest["nodes"][f"model.smarketing.{mart}"]["columns"]
        # Every column the warehouse holds is documented, and vice versa.
        assert {c.lower() for c in node["columns"]} == set(documented), mart
        assert node["metadata"]["schema"] == "marts"
    assert "email_hash" in catalog["nodes"]["model.smarketing.fct_leads"]["columns"]
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == {"weekly_funnel_dashboard", "spend_and_cac_dashboard", "sales_sla_dashboard"}
    assert "model.smarketing.kpi_weekly" in exposures["weekly_funnel_dashboard"]["depends_on"]["nodes"]
    assert "model.smarketing.fct_ad_spend_daily" in exposures["spend_and_cac_dashboard"]["depends_on"]["nodes"]
    assert "model.smarketing.fct_leads" in exposures["sales_sla_dashboard"]["depends_on"]["nodes"]
    for exposure in exposures.values():
        assert exposure["type"] == "dashboard" and exposure["owner"]["name"] and exposure["description"]


def test_command_line_copies_the_raw_layer_and_needs_a_dsn_to_publish(warehouse):
    server = pg.server()
    with pg.throwaway_database("smarketing_cli") as dbname:
        env = {**os.environ, **server.env(dbname=dbname)}
        env.pop("SMARKETING_PG_PUBLISH_DSN", None)
        command = [sys.executable, "-m", "postgres_target"]
        done = subprocess.run([*command, "copy-raw", "--warehouse", str(warehouse["db"])],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        contacts = warehouse["world"].tables[("raw_crm", "contacts")].num_rows
        assert _pg_rows(dbname, "raw_crm.contacts")[1].__len__() == contacts
        assert f"dbname={dbname}" in done.stdout and "password" not in done.stdout
        refused = subprocess.run([*command, "publish", "--warehouse", str(warehouse["db"])],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert refused.returncode == 2 and "SMARKETING_PG_PUBLISH_DSN is not set" in refused.stderr


def test_the_publisher_gives_way_to_a_dashboard_holding_a_mart(with_snapshot, published, bi_role):
    """A dashboard's open transaction holds a mart: the swap gives up (the dashboard is never cancelled)
    and the published marts stay as they were; once it lets go, the same publish goes through."""
    relations = ("marts.fct_leads", "marts.kpi_weekly", "snapshots.kpi_snapshot")
    before = {r: _sorted_rows(_pg_rows(published["dbname"], r)[1]) for r in relations}
    with contextlib.closing(_bi_connection(published["dbname"], bi_role)) as dashboard:
        with dashboard.cursor() as cur:
            cur.execute("select count(*) from marts.fct_leads")  # the transaction keeps the table's lock
            held = cur.fetchone()[0]
        started = time.perf_counter()
        with pytest.raises(psycopg2.errors.LockNotAvailable):
            # Each attempt tries without queueing for QUICK_LOCK_SECONDS, then waits 500 ms.
            publish_marts(with_snapshot["db"], published["dsn"], bi_role=bi_role, swap_attempts=2)
        assert 2 * (QUICK_LOCK_SECONDS + 0.5) <= time.perf_counter() - started
        with dashboard.cursor() as cur:  # the dashboard's transaction is untouched
            cur.execute("select count(*) from marts.fct_leads")
            assert cur.fetchone()[0] == held
        dashboard.commit()
    for relation, rows in before.items():
        assert _sorted_rows(_pg_rows(published["dbname"], relation)[1]) == rows, relation
    publish_marts(with_snapshot["db"], published["dsn"], bi_role=bi_role)
    assert _published_schemas(published["dsn"]) == ["marts", "snapshots"]  # no __publishing or __previous left
