"""`make bench SCALE=N`: where the time goes, stage by stage, on the demo world at scale N.

A full build (every partition up to the day before the demo world's last day, in one run), then a
one-day incremental run of that last day, new to the warehouse, with its late-arriving window. Each
stage (generate, ingest, dbt, checks, publish, snapshot) runs in its own process through Dagster, so
its wall seconds, rows per second and peak memory are its own. Also timed:
a plain DuckDB script over the same raw tables (bench/reference.sql), the engine's own floor; and, at
scales up to --postgres-max-scale, the same dbt project built on PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DBT_TARGET = ROOT / "dbt_project" / "target"
FULL_STAGES = ["generate", "ingest", "dbt", "checks", "publish", "snapshot"]
DAILY_STAGES = ["ingest", "dbt", "checks", "publish"]
PARSE_FILES = ("partial_parse.msgpack", "manifest.json", "semantic_manifest.json")


def run_stage(stage: str, env: dict[str, str], partition: str | None = None, full_refresh: bool = False) -> dict[str, object]:
    args = [sys.executable, "-m", "bench.stage", stage] + (["--partition", partition] if partition else [])
    args += ["--full-refresh"] if full_refresh else []
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if not lines:
        raise RuntimeError(f"stage {stage} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    report = json.loads(lines[-1].removeprefix("BENCH "))
    if not report["success"]:
        raise RuntimeError(f"stage {stage} failed: {report['failures']}")
    report = {"stage": stage, **report}
    if stage == "dbt":
        report.update(dbt_timing(str(report["run_id"])))
    return report


def parse_project(env: dict[str, str]) -> dict[str, object]:
    """`dbt parse` with the benchmark's environment, as `make manifest` does with the default one.

    dbt reuses a parse only while the profile it renders is unchanged, and the profile names the
    warehouse: without this, each of the benchmark's dbt invocations would parse the whole project
    again, which a deployment with a fixed warehouse path never does.
    """
    from ingestion.warehouse import DuckDBSettings
    from orchestration.agreement import load_agreement

    dbt_vars = json.dumps(load_agreement(ROOT / "agreement.yml").dbt_vars())
    # The DuckDB settings are in the profile too: the values Dagster gives dbt (orchestration/assets/dbt.py).
    env = {**env, **DuckDBSettings.from_env(env).env(env["SMARKETING_WAREHOUSE"])}
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("dbt")), "parse", "--profiles-dir", ".", "--quiet",
                    "--vars", dbt_vars], cwd=ROOT / "dbt_project", env=env, check=True)  # fmt: skip
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"stage": "parse", "success": True, "wall_seconds": round(wall, 3), "rows": 0, "peak_memory_mb": round(peak, 1)}


def dbt_timing(run_id: str) -> dict[str, object]:
    """What dbt itself reports for the stage's invocations: elapsed, model times summed, slowest models.

    dagster-dbt gives each invocation its own target folder, named after the asset and the run id.
    """
    runs = [json.loads(p.read_text()) for p in DBT_TARGET.glob(f"*-{run_id[:7]}-*/run_results.json")]
    nodes = [n for r in runs for n in r["results"]]
    elapsed = sum(r["elapsed_time"] for r in runs)
    models = sorted((n for n in nodes if n["unique_id"].startswith("model.")), key=lambda n: -n["execution_time"])
    return {
        "slowest_models": {n["unique_id"].split(".")[-1]: round(n["execution_time"], 2) for n in models[:8]},
        # The attribution models' own budget (issue: data-driven attribution at the benchmark scale).
        "attribution_model_seconds": {
            n["unique_id"].split(".")[-1]: round(n["execution_time"], 2)
            for n in models
            if "attribution" in n["unique_id"] or "touchpoints_credited" in n["unique_id"]
        },
        "dbt_invocations": len(runs),
        "dbt_elapsed_seconds": round(elapsed, 3),
        "sum_model_seconds": round(sum(n["execution_time"] for n in nodes if n["unique_id"].startswith("model.")), 3),
        "sum_test_seconds": round(sum(n["execution_time"] for n in nodes if n["unique_id"].startswith("test.")), 3),
    }


def run_reference(warehouse: Path) -> dict[str, object]:
    """bench/reference.sql in a plain DuckDB process over the raw tables."""
    code = (
        "import json, resource, sys, time\n"
        "from ingestion.warehouse import connect\n"
        "con = connect(sys.argv[1], read_only=True)\n"
        "script = open(sys.argv[2]).read()\n"
        "t = time.perf_counter()\n"
        "rows = con.execute(script).fetchall()\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print('BENCH ' + json.dumps({'wall_seconds': round(wall, 3), 'peak_memory_mb': round(peak, 1),"
        " 'result': [list(map(int, r)) for r in rows]}))\n"
    )
    args = [sys.executable, "-c", code, str(warehouse), str(ROOT / "bench" / "reference.sql")]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1].removeprefix("BENCH "))
    return {"stage": "reference SQL (plain DuckDB)", "rows": 0, **report}


def run_postgres(warehouse: Path, env: dict[str, str], work: Path) -> dict[str, object]:
    """Copy the raw layer to a scratch PostgreSQL database and time `dbt build --target postgres` there."""
    import psycopg2

    from orchestration.agreement import load_agreement
    from postgres_target.connection import PostgresSettings

    settings = PostgresSettings.from_env()
    dbname = "smarketing_bench"
    admin = psycopg2.connect(settings.dsn(dbname="postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {dbname} with (force)")
        cur.execute(f"create database {dbname}")
    admin.close()
    pg_env = {**env, "SMARKETING_PG_DBNAME": dbname}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "postgres_target", "copy-raw", "--warehouse", str(warehouse)],
                   cwd=ROOT, env=pg_env, check=True, capture_output=True)  # fmt: skip
    copied = time.perf_counter() - started
    target = work / "target_postgres"
    dbt_vars = json.dumps(load_agreement(ROOT / "agreement.yml").dbt_vars())
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--target", "postgres", "--profiles-dir", ".",
         "--target-path", str(target), "--log-path", str(target / "logs"), "--vars", dbt_vars],
        cwd=ROOT / "dbt_project", env=pg_env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"dbt build on PostgreSQL failed:\n{done.stdout[-3000:]}")
    results = json.loads((target / "run_results.json").read_text())
    return {
        "stage": "dbt on PostgreSQL",
        "wall_seconds": round(wall, 3),
        "copy_raw_seconds": round(copied, 3),
        "dbt_elapsed_seconds": round(results["elapsed_time"], 3),
        "rows": 0,
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def format_table(title: str, stages: list[dict[str, object]]) -> str:
    lines = [title, f"{'stage':<30} {'wall s':>9} {'rows':>12} {'rows/s':>12} {'peak MB':>9}"]
    for s in stages:
        wall, rows = float(s["wall_seconds"]), int(s.get("rows", 0))
        rate = f"{rows / wall:,.0f}" if rows and wall else "-"
        lines.append(f"{s['stage']:<30} {wall:>9.2f} {rows:>12,} {rate:>12} {s['peak_memory_mb']:>9,.0f}")
    return "\n".join(lines)


def _total(stages: list[dict[str, object]]) -> dict[str, float]:
    return {
        "wall_seconds": round(sum(float(s["wall_seconds"]) for s in stages), 2),
        "peak_memory_mb": max(float(s["peak_memory_mb"]) for s in stages),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: data/bench/scale-<N>")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default: <work-dir>/bench.json)")
    parser.add_argument("--postgres-max-scale", type=float, default=1.0,
                        help="also build on PostgreSQL up to this scale (0: never)")  # fmt: skip
    args = parser.parse_args()
    work = (args.work_dir or ROOT / "data" / "bench" / f"scale-{args.scale:g}").resolve()
    shutil.rmtree(work, ignore_errors=True)  # a full build starts from nothing
    work.mkdir(parents=True)
    warehouse = work / "warehouse.duckdb"
    env = {
        **os.environ,
        "SMARKETING_WAREHOUSE": str(warehouse),
        "SMARKETING_DEMO_DIR": str(work / "demo_world"),
        "SMARKETING_DEMO_SCALE": str(args.scale),
        "SMARKETING_SERVING": str(work / "serving" / "smarketing.duckdb"),
        "SMARKETING_QUALITY_DIR": str(work / "quality"),
    }
    env.pop("DAGSTER_HOME", None)  # ephemeral instances: a benchmark leaves no runs behind
    sys.path.insert(0, str(ROOT))
    # The default environment's parse (`make manifest`) is put back afterwards.
    saved = {name: (DBT_TARGET / name).read_bytes() for name in PARSE_FILES if (DBT_TARGET / name).exists()}
    try:
        return run_benchmark(args, work, warehouse, env)
    finally:
        for name, content in saved.items():
            (DBT_TARGET / name).write_bytes(content)


def run_benchmark(args: argparse.Namespace, work: Path, warehouse: Path, env: dict[str, str]) -> int:
    from orchestration.partitions import DAILY_PARTITIONS
    from orchestration.settings import Settings

    # The demo world's last day, not the calendar's: later partitions hold no data to time. The full
    # build stops the day before it, so the one-day run loads and transforms a day it has not seen (new
    # sessions, leads and deals; Markov weights that move; marts that publish real differences), as a
    # daily run in production does, rather than rerunning a day whose data did not change.
    newest = min(DAILY_PARTITIONS.get_last_partition_key(), Settings.from_env().demo_end_date.isoformat())
    day_before = (dt.date.fromisoformat(newest) - dt.timedelta(days=1)).isoformat()
    full = [parse_project(env)]
    for stage in FULL_STAGES:
        print(f"[bench] full build up to {day_before}: {stage} ...", flush=True)
        try:
            full.append(run_stage(stage, env, partition=day_before, full_refresh=True))
        except RuntimeError as exc:  # keep what was measured: the stages before, and why this one failed
            out = args.out or work / "bench.json"
            out.write_text(json.dumps({"scale": args.scale, "failed_stage": stage, "error": str(exc)[:5000],
                                       "full_build": {"stages": full}}, indent=2))  # fmt: skip
            print(format_table(f"Full build at scale {args.scale:g} FAILED in stage {stage}", full))
            print(f"\n{str(exc)[:3000]}\n\npartial results written to {out}")
            return 1
    daily = []
    for stage in DAILY_STAGES:
        print(f"[bench] one-day run ({newest}): {stage} ...", flush=True)
        daily.append(run_stage(stage, env, partition=newest))
    reference = run_reference(warehouse)
    postgres = None
    if 0 < args.scale <= args.postgres_max_scale:
        print("[bench] dbt on PostgreSQL ...", flush=True)
        postgres = run_postgres(warehouse, env, work)

    dbt = next(s for s in full if s["stage"] == "dbt")
    results = {
        "scale": args.scale,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "full_build": {"up_to_partition": day_before, **_total(full), "stages": full},
        "one_day_run": {"partition": newest, **_total(daily), "stages": daily},
        "one_day_over_full": round(_total(daily)["wall_seconds"] / _total(full)["wall_seconds"], 3),
        "reference": reference,
        # Disk: the warehouse after both runs, and the serving file BI reads.
        "warehouse_gb": round(warehouse.stat().st_size / 1e9, 2),
        "serving_gb": round(Path(env["SMARKETING_SERVING"]).stat().st_size / 1e9, 2),
        "dbt_orchestration_overhead": {
            "dbt_stage_wall_seconds": dbt["wall_seconds"],
            "dbt_reported_elapsed_seconds": dbt["dbt_elapsed_seconds"],
            "sum_model_seconds": dbt["sum_model_seconds"],
            "wall_over_dbt_elapsed": round(float(dbt["wall_seconds"]) / float(dbt["dbt_elapsed_seconds"]), 2),
            "wall_over_sum_of_models": round(float(dbt["wall_seconds"]) / float(dbt["sum_model_seconds"]), 2),
        },
        "postgres": postgres,
        "duckdb_over_postgres_dbt_time": (
            round(float(dbt["dbt_elapsed_seconds"]) / float(postgres["dbt_elapsed_seconds"]), 3) if postgres else None
        ),
        "reference_over_dbt_stage": round(float(reference["wall_seconds"]) / float(dbt["wall_seconds"]), 4),
    }
    out = args.out or work / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))

    print()
    print(format_table(f"Full build at scale {args.scale:g} (up to {day_before}): {results['full_build']['wall_seconds']} s, "
                       f"peak {results['full_build']['peak_memory_mb']:,.0f} MB", full))  # fmt: skip
    print()
    print(format_table(f"One-day run ({newest} + late window): {results['one_day_run']['wall_seconds']} s "
                       f"({results['one_day_over_full']:.1%} of the full build)", daily))  # fmt: skip
    print()
    print(format_table("Engine floor", [reference] + ([postgres] if postgres else [])))
    print(f"\nwarehouse file {results['warehouse_gb']} GB, serving file {results['serving_gb']} GB")
    o = results["dbt_orchestration_overhead"]
    print(f"\ndbt stage: {o['dbt_stage_wall_seconds']} s wall through Dagster; dbt reports {o['dbt_reported_elapsed_seconds']} s"
          f" over {dbt['dbt_invocations']} invocations, models {o['sum_model_seconds']} s summed;"
          f" wall / dbt elapsed = {o['wall_over_dbt_elapsed']}, wall / models = {o['wall_over_sum_of_models']}")  # fmt: skip
    print("slowest dbt models (s): " + ", ".join(f"{k} {v}" for k, v in dbt["slowest_models"].items()))
    print("attribution models (s): " + ", ".join(f"{k} {v}" for k, v in dbt["attribution_model_seconds"].items()))
    # The one-day run's dbt: its Dagster steps, dbt's own time, and the models and tests it spends it on.
    day = next(s for s in daily if s["stage"] == "dbt")
    steps = ", ".join(f"{k} {v}" for k, v in day.get("step_seconds", {}).items())
    print(f"one-day dbt stage: {day['wall_seconds']} s wall (steps: {steps}); dbt reports {day['dbt_elapsed_seconds']} s,"
          f" models {day['sum_model_seconds']} s and tests {day['sum_test_seconds']} s summed")  # fmt: skip
    print("one-day slowest dbt models (s): " + ", ".join(f"{k} {v}" for k, v in day["slowest_models"].items()))
    if postgres:
        print(f"dbt on DuckDB / dbt on PostgreSQL (dbt-reported elapsed): {results['duckdb_over_postgres_dbt_time']}"
              f" ({dbt['dbt_elapsed_seconds']} s / {postgres['dbt_elapsed_seconds']} s)")  # fmt: skip
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
