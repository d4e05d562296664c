with

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

rule_credits as (

    select * from {{ ref('int_touchpoints_credited_rules') }}

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
