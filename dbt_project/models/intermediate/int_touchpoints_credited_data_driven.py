"""Markov removal-effect and Shapley credits per touchpoint (attribution/ holds the algorithms)."""

from attribution.credit import credit_touchpoints


def model(dbt, session):
    dbt.config(materialized="table")
    order = int(dbt.config.get("markov_order") or 1)
    # Only the columns the algorithms use: at scale 10 the whole table does not fit DuckDB's memory limit.
    touchpoints = dbt.ref("fct_touchpoints").project("conversion_id, conversion_stage, touchpoint_id, channel").df()
    paths = dbt.ref("int_attribution_paths").df()
    credits = credit_touchpoints(touchpoints, paths, markov_order=order)
    return credits[["touchpoint_id", "conversion_id", "attribution_model", "credit"]]
