-- read once, by the next model
{{ config(materialized='view') }}
-- The SQL is a macro (macros/attribution.sql), beside the rule-based credits'. A daily run's
-- fct_attribution_credits reads every conversion's Markov credits from here (the weights are refitted
-- on every journey) and the changed conversions' Shapley credits.

{{ smarketing.data_driven_credits(ref('fct_touchpoints')) }}
