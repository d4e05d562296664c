"""Write the demo world to Parquet: python -m ingestion.demo --scale 0.05 --seed 42 --out data/demo_world"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from ingestion.demo.world import build_world


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ingestion.demo", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.05, help="1 = ~1M sessions, 100k leads a year")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-date", type=dt.date.fromisoformat, default=dt.date(2026, 11, 22))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--out", type=Path, default=Path("data/demo_world"))
    args = parser.parse_args(argv)

    started = time.perf_counter()
    summary = build_world(args.out, scale=args.scale, seed=args.seed, end_date=args.end_date, days=args.days)
    for name, rows in summary.rows.items():
        schema, table = name.split(".")
        print(f"{schema}.{table:<20} {rows:>12,} rows")
    print(f"generated and written to {args.out} in {time.perf_counter() - started:.1f} s "
          f"({len(summary.rows)} tables + truth.json)")  # fmt: skip


if __name__ == "__main__":
    main()
