"""One benchmark stage in its own process: materialize an asset selection, report JSON on stdout.

A separate process per stage makes peak memory (ru_maxrss, this process and its dbt children) a
per-stage figure rather than the maximum of the whole run.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

import dagster as dg


def run_stage(groups: list[str], keys: list[str]) -> dict[str, object]:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    selection = dg.AssetSelection.groups(*groups) | dg.AssetSelection.assets(*[k.split("/") for k in keys])
    selected = selection.resolve(graph)
    job = defs.resolve_implicit_global_asset_job_def()
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=list(selected),
        run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
        raise_on_error=False,
    )
    wall = time.perf_counter() - started
    rows = 0
    for event in result.get_asset_materialization_events():
        count = event.materialization.metadata.get("dagster/row_count")
        rows += int(count.value) if count is not None else 0
    peak_kb = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    return {
        "success": result.success,
        "wall_seconds": round(wall, 3),
        "rows": rows,
        "peak_memory_mb": round(peak_kb / 1024, 1),
        "assets": len(selected),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--group", action="append", default=[])
    parser.add_argument("--key", action="append", default=[])
    args = parser.parse_args()
    report = run_stage(args.group, args.key)
    print("BENCH " + json.dumps(report))
    return 0 if report["success"] else 1


if __name__ == "__main__":
    sys.exit(main())
