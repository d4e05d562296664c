"""Shapley values over channels.

``shapley_values`` is the exact Shapley value of any cooperative game on a few players, vectorised
over coalitions encoded as bit masks. ``attribution_game_shapley`` builds the attribution game of
Zhao, Mahboobi and Bagheri (2018, "Shapley Value Methods for Attribution Modeling in Online
Advertising", arXiv:1804.05327): the worth of a coalition S is the number of conversions of journeys
whose set of channels is a subset of S. In that game a converting journey's Shapley credit is split
equally among its distinct channels, which is how the touchpoint credits are computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import factorial

import numpy as np
import pandas as pd

MAX_PLAYERS = 20


def shapley_values(players: Sequence[str], worth: Callable[[np.ndarray], np.ndarray]) -> pd.Series:
    """Exact Shapley values. ``worth`` maps an array of coalition bit masks (bit i = players[i]) to
    their worths; it must give 0 for the empty coalition."""
    n = len(players)
    if n > MAX_PLAYERS:
        raise ValueError(f"exact Shapley needs at most {MAX_PLAYERS} players, got {n}")
    masks = np.arange(1 << n, dtype=np.int64)
    v = np.asarray(worth(masks), float)
    sizes = np.array([m.bit_count() for m in range(1 << n)])
    weights = np.array(
        [factorial(s) * factorial(n - s - 1) / factorial(n) if s < n else 0.0 for s in range(n + 1)]
    )
    values = np.empty(n)
    for i in range(n):
        bit = 1 << i
        without = masks[(masks & bit) == 0]  # coalitions S not containing i
        values[i] = float(np.sum(weights[sizes[without]] * (v[without | bit] - v[without])))
    return pd.Series(values, index=list(players), name="shapley_value")


def attribution_game_shapley(
    channel_sets: Sequence[frozenset[str]], conversions: Sequence[float]
) -> pd.Series:
    """Shapley value per channel of the Zhao et al. game v(S) = conversions of journeys with set within S."""
    players = sorted({c for s in channel_sets for c in s})
    bit = {c: 1 << i for i, c in enumerate(players)}
    set_masks = np.array([sum(bit[c] for c in s) for s in channel_sets], np.int64)
    conv = np.asarray(conversions, float)

    def worth(masks: np.ndarray) -> np.ndarray:
        inside = (set_masks[None, :] & ~masks[:, None]) == 0  # journey's set within the coalition
        return inside.astype(float) @ conv

    return shapley_values(players, worth)
