-- Shown in Dagster as a check on fct_lead_to_sale.
{{ config(meta={'dagster': {'ref': {'name': 'fct_lead_to_sale'}}}) }}
-- Every won CRM deal and every in-store purchase (matched or walk-in) is exactly one row of
-- fct_lead_to_sale, with the matched lead.

with

won_deals as (

    select
        'crm_deal:' || deal_id as sale_id,
        contact_id

    from {{ ref('stg_crm__deals') }}

    where deal_stage = 'closedwon'

),

store_purchases as (

    select
        'in_store:' || transaction_id as sale_id,
        contact_id

    from {{ ref('int_store_purchases_matched') }}

),

expected as (

    select * from won_deals
    union all
    select * from store_purchases

),

actual as (

    select
        sale_id,
        count(*) as row_count,
        max(lead_id) as lead_id

    from {{ ref('fct_lead_to_sale') }}

    group by sale_id

),

final as (

    select
        expected.sale_id,
        actual.row_count

    from expected

    left join actual
        on expected.sale_id = actual.sale_id

    where actual.row_count is null
        or actual.row_count <> 1
        or coalesce(actual.lead_id, '') <> coalesce(expected.contact_id, '')

)

select * from final
