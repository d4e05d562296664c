"""Touchpoint credits of the data-driven models, from journeys aggregated by path.

``paths``: one row per (conversion_stage, path) with ``path`` the channels joined by ``PATH_SEPARATOR``
in time order, ``conversions`` and ``non_conversions`` (journey counts). ``touchpoints``: one row per
touchpoint of a conversion (``conversion_id``, ``conversion_stage``, ``touchpoint_id``, ``channel``).
Every conversion's credits sum to 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from attribution.markov import removal_effects

PATH_SEPARATOR = " > "
MARKOV = "markov"
SHAPLEY = "shapley"


def channel_weights(paths: pd.DataFrame, markov_order: int = 1) -> pd.DataFrame:
    """Markov removal effects and weights per (conversion_stage, channel)."""
    frames = []
    paths = paths.sort_values(["conversion_stage", "path"], kind="stable")
    for stage, group in paths.groupby("conversion_stage", sort=True):
        split = [p.split(PATH_SEPARATOR) for p in group["path"]]
        effects = removal_effects(
            split, group["conversions"].to_numpy(), group["non_conversions"].to_numpy(), markov_order
        )
        frames.append(effects.assign(conversion_stage=stage))
    columns = ["conversion_stage", "channel", "removal_effect", "weight"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def credit_touchpoints(touchpoints: pd.DataFrame, paths: pd.DataFrame, markov_order: int = 1) -> pd.DataFrame:
    """Credit per touchpoint under the Markov and Shapley models (long: touchpoint x model)."""
    # A fixed row order makes the floating-point sums, hence the credits, identical on every rerun.
    tp = touchpoints[["conversion_id", "conversion_stage", "touchpoint_id", "channel"]]
    tp = tp.sort_values("touchpoint_id", kind="stable").reset_index(drop=True)
    per_channel = tp.groupby(["conversion_id", "channel"])["touchpoint_id"].transform("size")
    distinct = tp.groupby("conversion_id")["channel"].transform("nunique")
    touches = tp.groupby("conversion_id")["touchpoint_id"].transform("size")

    # Shapley (Zhao et al. game): the conversion is split equally among its distinct channels, and a
    # channel's share equally among its touchpoints in the journey.
    shapley = 1.0 / (distinct * per_channel)

    # Markov: the conversion is split among its channels in proportion to their removal effects.
    weights = channel_weights(paths, markov_order)
    w = tp.merge(weights, on=["conversion_stage", "channel"], how="left", validate="many_to_one")["weight"]
    raw = w.fillna(0.0).to_numpy() / per_channel.to_numpy()
    total = pd.Series(raw).groupby(tp["conversion_id"].to_numpy()).transform("sum").to_numpy()
    markov = np.where(total > 0, raw / np.where(total > 0, total, 1.0), 1.0 / touches.to_numpy())

    out = pd.concat(
        [
            tp.assign(attribution_model=MARKOV, credit=markov),
            tp.assign(attribution_model=SHAPLEY, credit=shapley.to_numpy()),
        ],
        ignore_index=True,
    )
    return out[
        ["touchpoint_id", "conversion_id", "conversion_stage", "channel", "attribution_model", "credit"]
    ]
