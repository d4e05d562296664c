-- read once, by the next model
{{ config(materialized='view') }}
-- The SQL is a macro (macros/attribution.sql): the incremental fct_attribution_credits runs it over
-- the changed conversions only, and its post-hook over every conversion for the refitted weights.

{{ smarketing.data_driven_credits(ref('fct_touchpoints')) }}
