"""The weekly meeting: KPI snapshots frozen per ISO week and the report made from them."""
