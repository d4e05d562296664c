"""Markov-chain attribution: removal effects from the absorbing chain of channel journeys.

A journey is a sequence of channels that ends in a conversion or not. States of an order-k chain are
the last k channels seen (shorter at the start of a journey), plus ``start``, ``conversion`` and
``null`` (absorbing). The probability of reaching ``conversion`` from ``start`` is the absorbing-chain
solution ``B = (I - Q)^-1 R`` (Kemeny and Snell). Removing a channel sends every transition into a
state that contains it to ``null``; its removal effect is the relative drop in conversion probability
(Anderl, Becker, von Wangenheim and Schumann, 2016). Effects are clipped at zero: no negative credit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def _states(path: Sequence[str], order: int) -> list[tuple[str, ...]]:
    return [tuple(path[max(0, i - order + 1) : i + 1]) for i in range(len(path))]


def _transition_counts(
    paths: Sequence[Sequence[str]], conversions: np.ndarray, nulls: np.ndarray, order: int
) -> tuple[list[object], np.ndarray]:
    """State list (start first, then the channel states, then conversion and null) and counts."""
    index: dict[object, int] = {START: 0}
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    ends: list[tuple[int, float, float]] = []
    for path, conv, null in zip(paths, conversions, nulls):
        if conv + null <= 0:
            continue
        previous = 0
        for state in _states(path, order):
            current = index.setdefault(state, len(index))
            rows.append(previous)
            cols.append(current)
            weights.append(conv + null)
            previous = current
        ends.append((previous, float(conv), float(null)))
    n_transient = len(index)
    conversion, null = n_transient, n_transient + 1
    for last, conv, nul in ends:
        rows += [last, last]
        cols += [conversion, null]
        weights += [conv, nul]
    counts = np.zeros((n_transient + 2, n_transient + 2))
    np.add.at(counts, (np.array(rows, int), np.array(cols, int)), np.array(weights, float))
    states = [*index, CONVERSION, NULL]
    return states, counts


def _conversion_probability(counts: np.ndarray, removed: np.ndarray | None = None) -> float:
    """P(reach conversion from start); transitions into ``removed`` states go to null instead."""
    counts = counts.copy()
    n_transient = counts.shape[0] - 2
    if removed is not None and removed.any():
        counts[:, -1] += counts[:, :n_transient][:, removed].sum(axis=1)
        counts[:, :n_transient][:, removed] = 0.0
    totals = counts[:n_transient].sum(axis=1, keepdims=True)
    probabilities = np.divide(
        counts[:n_transient], totals, out=np.zeros_like(counts[:n_transient]), where=totals > 0
    )
    q = probabilities[:, :n_transient]
    r = probabilities[:, n_transient]
    # Unreached or removed states have all-zero rows: they are never entered, solving stays regular.
    b = np.linalg.solve(np.eye(n_transient) - q, r)
    return float(b[0])


def removal_effects(
    paths: Sequence[Sequence[str]],
    conversions: Sequence[float],
    nulls: Sequence[float] | None = None,
    order: int = 1,
) -> pd.DataFrame:
    """Removal effect per channel, and its share of the total (the Markov attribution weight).

    ``paths`` are channel sequences, ``conversions`` and ``nulls`` how many journeys with that path
    converted and did not. Returns one row per channel: ``removal_effect`` (>= 0) and ``weight``
    (removal effects normalised to sum to 1; all zero if no conversion).
    """
    if order < 1:
        raise ValueError(f"Markov order must be >= 1, got {order}")
    conv = np.asarray(conversions, float)
    null = np.zeros_like(conv) if nulls is None else np.asarray(nulls, float)
    if conv.shape != (len(paths),) or null.shape != conv.shape:
        raise ValueError("paths, conversions and nulls must have the same length")
    states, counts = _transition_counts(paths, conv, null, order)
    channels = sorted({c for p in paths for c in p})
    base = _conversion_probability(counts) if conv.sum() > 0 else 0.0
    effects = []
    for channel in channels:
        removed = np.array([isinstance(s, tuple) and channel in s for s in states[:-2]])
        without = _conversion_probability(counts, removed) if base > 0 else 0.0
        effects.append(max(0.0, 1.0 - without / base) if base > 0 else 0.0)
    effect = np.array(effects)
    total = effect.sum()
    weight = effect / total if total > 0 else np.zeros_like(effect)
    return pd.DataFrame({"channel": channels, "removal_effect": effect, "weight": weight})
