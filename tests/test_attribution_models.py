"""The data-driven attribution models on small published examples, and their invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attribution import attribution_game_shapley, credit_touchpoints, removal_effects, shapley_values
from attribution.credit import PATH_SEPARATOR


def _by_channel(frame: pd.DataFrame, column: str) -> dict[str, float]:
    return dict(zip(frame["channel"], frame[column]))


def test_markov_removal_effect_puzyrov_example() -> None:
    # Serhii Puzyrov, "Markov Chain Attribution - Simple Explanation Of Removal Effect" (2019),
    # https://serhiipuzyrov.com/2019/07/markov-chain-attribution-simple-explanation-of-removal-effect/
    # Paths: google ads (2 conversions), mailing (1), google ads > mailing (1), google ads (0 = null).
    # Published transitions: start->google ads 0.8, start->mailing 0.2, google ads->conv 0.5,
    # ->mailing 0.25, ->null 0.25, mailing->conv 1; P(conv) = 0.8. Without google ads P = 0.2
    # (removal effect 0.75), without mailing P = 0.4 (0.5): of 4 conversions 2.4 and 1.6.
    effects = removal_effects(
        [["google ads"], ["mailing"], ["google ads", "mailing"], ["google ads"]],
        conversions=[2, 1, 1, 0],
        nulls=[0, 0, 0, 1],
    )
    assert _by_channel(effects, "removal_effect") == pytest.approx({"google ads": 0.75, "mailing": 0.5})
    assert {c: w * 4 for c, w in _by_channel(effects, "weight").items()} == pytest.approx(
        {"google ads": 2.4, "mailing": 1.6}
    )
    # The second-order chain remembers pairs; on these paths it gives the same answer.
    second = removal_effects(
        [["google ads"], ["mailing"], ["google ads", "mailing"], ["google ads"]],
        [2, 1, 1, 0],
        [0, 0, 0, 1],
        order=2,
    )
    assert _by_channel(second, "weight") == pytest.approx({"google ads": 0.6, "mailing": 0.4})


def test_markov_removal_effect_bryl_example() -> None:
    # Sergey Bryl, "Marketing Multi-Channel Attribution model with R (part 1: Markov chain concept)",
    # analyzecore.com, 2016: paths c1 > c2 > c3 (converted), c1 (null), c2 > c3 (null). By hand:
    # P(conv) = 2/3 * 1/2 * 1 * 1/2 + 1/3 * 1 * 1/2 = 1/3; removing c1 leaves 1/6 (effect 0.5),
    # removing c2 or c3 leaves 0 (effect 1): weights 0.2, 0.4, 0.4.
    effects = removal_effects([["c1", "c2", "c3"], ["c1"], ["c2", "c3"]], [1, 0, 0], [0, 1, 1])
    assert _by_channel(effects, "removal_effect") == pytest.approx({"c1": 0.5, "c2": 1.0, "c3": 1.0})
    assert _by_channel(effects, "weight") == pytest.approx({"c1": 0.2, "c2": 0.4, "c3": 0.4})


def test_markov_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="order must be >= 1"):
        removal_effects([["a"]], [1], [0], order=0)
    with pytest.raises(ValueError, match="same length"):
        removal_effects([["a"], ["b"]], [1], [0])


def test_shapley_glove_game() -> None:
    # The glove game of Wikipedia's "Shapley value" article: players 1 and 2 hold left gloves, 3 a
    # right glove; a pair is worth 1. Published values: 1/6, 1/6, 2/3.
    left, right = 0b011, 0b100

    def worth(masks: np.ndarray) -> np.ndarray:
        return (((masks & left) > 0) & ((masks & right) > 0)).astype(float)

    values = shapley_values(["p1", "p2", "p3"], worth)
    assert values.to_dict() == pytest.approx({"p1": 1 / 6, "p2": 1 / 6, "p3": 2 / 3})


def test_shapley_attribution_game_published_example() -> None:
    # "Data-driven marketing attribution" (Towards Data Science, https://towardsdatascience.com/
    # data-driven-marketing-attribution-1a28d2e613a0; notebook github.com/tomgorb/misc, "Data Driven
    # Attribution.ipynb"): conversion shares by channel set F 0.2, O 0.1, L 0.17, F+O 0.17, F+L 0.3,
    # L+O 0, F+L+O 0.06, worth = sum over subsets (Zhao et al. 2018). Published: F 0.455, O 0.205,
    # L 0.34.
    sets = [{"F"}, {"O"}, {"L"}, {"F", "O"}, {"F", "L"}, {"L", "O"}, {"F", "L", "O"}]
    values = attribution_game_shapley([frozenset(s) for s in sets], [0.2, 0.1, 0.17, 0.17, 0.3, 0.0, 0.06])
    assert values.to_dict() == pytest.approx({"F": 0.455, "O": 0.205, "L": 0.34})


def _random_journeys(seed: int, n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    channels = np.array(["Paid Search", "Paid Social", "Email", "Direct", "Organic Search"])
    rows, paths = [], []
    for j in range(n):
        path = list(rng.choice(channels, size=int(rng.integers(1, 6))))
        converted = bool(rng.random() < 0.3)
        paths.append((PATH_SEPARATOR.join(path), int(converted)))
        if converted:
            rows += [(f"c{j}", "lead", f"c{j}-{i}", ch) for i, ch in enumerate(path)]
    touchpoints = pd.DataFrame(
        rows, columns=["conversion_id", "conversion_stage", "touchpoint_id", "channel"]
    )
    agg = (
        pd.DataFrame(paths, columns=["path", "converted"]).groupby("path")["converted"].agg(["sum", "count"])
    )
    path_table = pd.DataFrame({
        "conversion_stage": "lead", "path": agg.index,
        "conversions": agg["sum"].to_numpy(), "non_conversions": (agg["count"] - agg["sum"]).to_numpy(),
    })  # fmt: skip
    return touchpoints, path_table


@pytest.mark.parametrize("order", [1, 2, 3])
def test_credits_sum_to_one_per_conversion_and_are_never_negative(order: int) -> None:
    touchpoints, paths = _random_journeys(seed=order)
    credits = credit_touchpoints(touchpoints, paths, markov_order=order)
    assert len(credits) == 2 * len(touchpoints)
    sums = credits.groupby(["conversion_id", "attribution_model"])["credit"].sum()
    assert np.abs(sums.to_numpy() - 1.0).max() < 1e-12
    assert (credits["credit"] >= 0).all()
    assert set(sums.index.get_level_values(0)) == set(touchpoints["conversion_id"])


def test_shapley_touchpoint_credits_add_up_to_the_games_shapley_values() -> None:
    touchpoints, paths = _random_journeys(seed=7)
    credits = credit_touchpoints(touchpoints, paths)
    by_channel = credits[credits["attribution_model"] == "shapley"].groupby("channel")["credit"].sum()
    sets = touchpoints.groupby("conversion_id")["channel"].agg(frozenset)
    counts = sets.value_counts()
    game = attribution_game_shapley(list(counts.index), counts.to_numpy())
    assert by_channel.to_dict() == pytest.approx(game.to_dict())


def test_markov_touchpoint_credits_follow_removal_effects() -> None:
    # One conversion through Paid Search then Email twice: Paid Search gets w_ps / (w_ps + w_email),
    # split over one touch; Email the rest, split over its two touches.
    touchpoints = pd.DataFrame({
        "conversion_id": ["k"] * 3, "conversion_stage": ["lead"] * 3,
        "touchpoint_id": ["t1", "t2", "t3"], "channel": ["Paid Search", "Email", "Email"],
    })  # fmt: skip
    paths = pd.DataFrame({
        "conversion_stage": ["lead"] * 3, "path": ["Paid Search > Email > Email", "Paid Search", "Email"],
        "conversions": [1, 3, 1], "non_conversions": [0, 1, 3],
    })  # fmt: skip
    effects = removal_effects(
        [p.split(PATH_SEPARATOR) for p in paths["path"]], paths["conversions"], paths["non_conversions"]
    )
    w = _by_channel(effects, "weight")
    credits = credit_touchpoints(touchpoints, paths)
    markov = credits[credits["attribution_model"] == "markov"].set_index("touchpoint_id")["credit"]
    share_ps = w["Paid Search"] / (w["Paid Search"] + w["Email"])
    assert markov.to_dict() == pytest.approx(
        {"t1": share_ps, "t2": (1 - share_ps) / 2, "t3": (1 - share_ps) / 2}
    )
