"""`make bench SCALE=N`: time each stage of a full build on the demo world at scale N.

Each stage runs in its own process through Dagster (what a data engineer's run costs, orchestration
included), and reports wall seconds, rows written per second and peak memory. A plain DuckDB script
over the same raw tables (bench/reference.sql) is timed too, as the engine's own floor.
"""

from __future__ import annotations

import argparse
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

# (stage, asset groups, asset keys): a stage whose selection is empty is reported as absent.
STAGES: list[tuple[str, list[str], list[str]]] = [
    ("generate", [], ["demo_world"]),
    ("ingest", ["raw"], []),
    ("dbt", ["reference", "staging", "intermediate", "marts"], []),
]


def run_stage(name: str, groups: list[str], keys: list[str], env: dict[str, str]) -> dict[str, object]:
    args = [sys.executable, "-m", "bench.stage"]
    args += [a for g in groups for a in ("--group", g)] + [a for k in keys for a in ("--key", k)]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if not lines:
        raise RuntimeError(f"stage {name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    report = json.loads(lines[-1].removeprefix("BENCH "))
    if not report["success"]:
        raise RuntimeError(f"stage {name} failed; its output:\n{done.stdout[-3000:]}")
    return {"stage": name, **report}


def run_reference(warehouse: Path) -> dict[str, object]:
    code = (
        "import duckdb, resource, time, json, sys\n"
        f"con = duckdb.connect({str(warehouse)!r}, read_only=True)\n"
        f"script = open({str(ROOT / 'bench' / 'reference.sql')!r}).read()\n"
        "t = time.perf_counter()\n"
        "rows = con.execute(script).fetchall()\n"
        "wall = time.perf_counter() - t\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print('BENCH ' + json.dumps({'wall_seconds': round(wall, 3), 'peak_memory_mb': round(peak, 1),"
        " 'result': [list(map(int, r)) for r in rows]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(done.stdout.strip().splitlines()[-1].removeprefix("BENCH "))
    return {"stage": "reference (plain DuckDB SQL)", "rows": 0, "assets": 0, "success": True, **report}


def dbt_timing(target_dir: Path, since: float) -> dict[str, float] | None:
    """What dbt itself reports for the newest invocation: elapsed and summed model/node times."""
    runs = [p for p in target_dir.rglob("run_results.json") if p.stat().st_mtime >= since]
    if not runs:
        return None
    results = json.loads(max(runs, key=lambda p: p.stat().st_mtime).read_text())
    nodes = results["results"]
    return {
        "dbt_elapsed_seconds": round(results["elapsed_time"], 3),
        "sum_model_seconds": round(
            sum(n["execution_time"] for n in nodes if n["unique_id"].startswith("model.")), 3
        ),
        "sum_node_seconds": round(sum(n["execution_time"] for n in nodes), 3),
    }


def format_table(stages: list[dict[str, object]]) -> str:
    lines = [f"{'stage':<30} {'wall s':>9} {'rows':>12} {'rows/s':>12} {'peak MB':>9}"]
    for s in stages:
        wall = float(s["wall_seconds"])
        rows = int(s.get("rows", 0))
        rate = f"{rows / wall:,.0f}" if rows and wall else "-"
        lines.append(f"{s['stage']:<30} {wall:>9.2f} {rows:>12,} {rate:>12} {s['peak_memory_mb']:>9,.0f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--work-dir", type=Path, default=None, help="default: data/bench/scale-<N>")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default: <work-dir>/bench.json)")
    args = parser.parse_args()
    work = (args.work_dir or ROOT / "data" / "bench" / f"scale-{args.scale:g}").resolve()
    shutil.rmtree(work, ignore_errors=True)  # a full build starts from nothing
    work.mkdir(parents=True)
    env = {
        **os.environ,
        "SMARKETING_WAREHOUSE": str(work / "warehouse.duckdb"),
        "SMARKETING_DEMO_DIR": str(work / "demo_world"),
        "SMARKETING_DEMO_SCALE": str(args.scale),
    }
    env.pop("DAGSTER_HOME", None)  # ephemeral instances: a benchmark leaves no runs behind

    stages = []
    total_started = time.perf_counter()
    for name, groups, keys in STAGES:
        started = time.time()
        print(f"[bench] {name} ...", flush=True)
        report = run_stage(name, groups, keys, env)
        if name == "dbt":
            timing = dbt_timing(ROOT / "dbt_project" / "target", started)
            if timing:
                report.update(timing)
                report["orchestration_overhead_ratio"] = round(
                    float(report["wall_seconds"]) / timing["dbt_elapsed_seconds"], 2
                )
        stages.append(report)
    full_build = time.perf_counter() - total_started
    stages.append(run_reference(work / "warehouse.duckdb"))

    results = {
        "scale": args.scale,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "full_build_wall_seconds": round(full_build, 2),
        "full_build_peak_memory_mb": max(float(s["peak_memory_mb"]) for s in stages),
        "stages": stages,
        "bench_process_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    out = args.out or work / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nFull build at scale {args.scale:g}: {full_build:.1f} s wall\n")
    print(format_table(stages))
    dbt = next(s for s in stages if s["stage"] == "dbt")
    if "dbt_elapsed_seconds" in dbt:
        print(
            f"\ndbt stage: {dbt['wall_seconds']} s wall through Dagster, dbt reports {dbt['dbt_elapsed_seconds']} s"
            f" (models {dbt['sum_model_seconds']} s, all nodes {dbt['sum_node_seconds']} s summed over threads);"
            f" overhead ratio {dbt['orchestration_overhead_ratio']}"
        )
    print(f"\nresults written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
