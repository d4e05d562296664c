"""Data-driven multi-touch attribution: Markov-chain removal effect and Shapley value over channels.

Framework-free (numpy, pandas): the dbt Python model ``int_touchpoints_credited_data_driven`` calls
``credit_touchpoints``; the tests call the functions directly on published examples.
"""

from attribution.credit import credit_touchpoints
from attribution.markov import removal_effects
from attribution.shapley import attribution_game_shapley, shapley_values

__all__ = ["attribution_game_shapley", "credit_touchpoints", "removal_effects", "shapley_values"]
