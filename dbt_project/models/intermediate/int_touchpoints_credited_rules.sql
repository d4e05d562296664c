-- read once, by the next model
{{ config(materialized='view') }}
-- The SQL is a macro (macros/attribution.sql): the incremental fct_attribution_credits runs it over
-- the changed conversions only.

{{ smarketing.rule_based_credits(ref('fct_touchpoints')) }}
