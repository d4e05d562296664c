-- Shown in Dagster as a check on fct_attribution_credits.
{{ config(meta={'dagster': {'ref': {'name': 'fct_attribution_credits'}}}) }}
-- Every conversion gets exactly one unit of credit in every model (to 1e-9), and no credit is negative.
with

touchpoints as (

    select distinct conversion_id from {{ ref('fct_touchpoints') }}

),

models as (

    select distinct attribution_model from {{ ref('fct_attribution_credits') }}

),

sums as (

    select
        conversion_id,
        attribution_model,
        sum(credit) as credit_total,
        min(credit) as credit_min

    from {{ ref('fct_attribution_credits') }}

    group by 1, 2

)

select
    touchpoints.conversion_id,
    models.attribution_model,
    sums.credit_total,
    sums.credit_min

from touchpoints

cross join models

left join sums
    on touchpoints.conversion_id = sums.conversion_id
    and models.attribution_model = sums.attribution_model

where sums.credit_total is null
    or abs(sums.credit_total - 1) > 1e-9
    or sums.credit_min < 0
