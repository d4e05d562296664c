{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ smarketing.delete_changed_credits() }}",
    )
}}
-- Incremental by day: the credits of the changed contacts' conversions (their touchpoints were rebuilt)
-- and, for every conversion, the models whose credits depend on all journeys (Markov: its channel
-- weights are fitted on every path, so each day's data moves them all).
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_visitors_identified') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}
{%- set global_models = smarketing.global_attribution_models() %}

with

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

{% if smarketing.incremental_window() %}
changed_conversions as (

    select conversion_id from touchpoints where lead_id in ({{ smarketing.changed_contact_ids() }})

),

changed_touchpoints as (

    select * from touchpoints where conversion_id in (select conversion_id from changed_conversions)

),
{% endif %}

rule_credits as (

    {% if smarketing.incremental_window() %}
    -- The same SQL as int_touchpoints_credited_rules, over the changed conversions' touchpoints only.
    {{ smarketing.rule_based_credits('changed_touchpoints') }}
    {% else %}
    select * from {{ ref('int_touchpoints_credited_rules') }}
    {% endif %}

),

{#- The data-driven models are a dbt Python model, which only the DuckDB adapter runs. -#}
{% set has_data_driven = target.type == 'duckdb' %}

{% if has_data_driven %}
data_driven_credits as (

    select * from {{ ref('int_touchpoints_credited_data_driven') }}

),
{% endif %}

credits as (

    select touchpoint_id, attribution_model, credit from rule_credits
    {% if has_data_driven %}
    union all
    select touchpoint_id, attribution_model, credit from data_driven_credits
    {% if smarketing.incremental_window() %}
    where attribution_model in ('{{ global_models | join("', '") }}')
        or conversion_id in (select conversion_id from changed_conversions)
    {% endif %}
    {% endif %}

),

final as (

    select
        {{ smarketing.surrogate_key(['credits.touchpoint_id', 'credits.attribution_model']) }} as touchpoint_credit_id,
        cast(credits.touchpoint_id as {{ dbt.type_string() }}) as touchpoint_id,
        cast(credits.attribution_model as {{ dbt.type_string() }}) as attribution_model,
        touchpoints.conversion_id,
        touchpoints.conversion_stage,
        touchpoints.lead_id,
        touchpoints.converted_at,
        touchpoints.touched_at,
        touchpoints.channel,
        touchpoints.platform,
        touchpoints.campaign_key,
        touchpoints.campaign_id,
        cast(credits.credit as double precision) as credit,
        cast(credits.credit * touchpoints.conversion_revenue_reporting as double precision) as attributed_revenue_reporting

    from credits

    inner join touchpoints
        on credits.touchpoint_id = touchpoints.touchpoint_id

)

select * from final
