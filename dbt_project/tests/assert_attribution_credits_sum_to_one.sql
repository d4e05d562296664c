-- Shown in Dagster as a check on fct_attribution_credits.
{{ config(meta={'dagster': {'ref': {'name': 'fct_attribution_credits'}}}) }}
-- Every conversion gets exactly one unit of credit in every model (to 1e-9), and no credit is negative.
-- One pass over the credits grouped by conversion and model, then by conversion. A daily run checks
-- the credits it rebuilt: every conversion's in the global models, the changed contacts' in all
-- (the others were checked when written and have not changed since).
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_visitors_identified') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}
{%- set windowed = smarketing.window_start() | length > 0 %}
{%- set global_models = smarketing.global_attribution_models() %}

with

{% if windowed %}
changed_contacts as (

    {{ smarketing.changed_contact_ids() }}

),
{% endif %}

credits as (

    select conversion_id, attribution_model, credit from {{ ref('fct_attribution_credits') }}
    {% if windowed %}
    where attribution_model in ('{{ global_models | join("', '") }}')
        or lead_id in (select contact_id from changed_contacts)
    {% endif %}

),

sums as (

    select
        conversion_id,
        attribution_model,
        sum(credit) as credit_total,
        min(credit) as credit_min

    from credits

    group by 1, 2

),

per_conversion as (

    select
        conversion_id,
        count(*) as models,
        max(abs(credit_total - 1)) as worst_error,
        min(credit_min) as credit_min

    from sums

    group by 1

),

model_count as (

    select count(distinct attribution_model) as models from {{ ref('fct_attribution_credits') }}

),

conversions as (

    -- Each conversion, and the number of models it must have credits of here.
    select distinct
        touchpoints.conversion_id,
        {% if windowed %}
        case
            when touchpoints.lead_id in (select contact_id from changed_contacts) then model_count.models
            else {{ global_models | length }}
        end as models_expected
        {% else %}
        model_count.models as models_expected
        {% endif %}

    from {{ ref('fct_touchpoints') }} as touchpoints

    cross join model_count

)

select
    conversions.conversion_id,
    per_conversion.models as models_credited,
    conversions.models_expected,
    per_conversion.worst_error,
    per_conversion.credit_min

from conversions

left join per_conversion
    on conversions.conversion_id = per_conversion.conversion_id

where per_conversion.models is null
    or per_conversion.models <> conversions.models_expected
    or per_conversion.worst_error > 1e-9
    or per_conversion.credit_min < 0
