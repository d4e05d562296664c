"""Markov removal effect and weight per (conversion stage, channel), from the journeys aggregated by
path (attribution/ holds the algorithm). Small: the touchpoints are credited in SQL, by
int_touchpoints_credited_data_driven."""

from attribution.credit import channel_weights


def model(dbt, session):
    dbt.config(materialized="table")
    order = int(dbt.config.get("markov_order") or 1)
    paths = dbt.ref("int_attribution_paths").df()
    return channel_weights(paths, markov_order=order)
