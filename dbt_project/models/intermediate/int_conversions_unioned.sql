with

stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

),

sales as (

    select * from {{ ref('int_sales_unioned') }}

),

merged_contacts as (

    select * from {{ ref('int_contact_merges_resolved') }}

),

stage_conversions as (

    -- Funnel stages reached: lead, MQL, SQL (at the ordered entered_at of the funnel convention).
    select
        'stage:' || stage || ':' || contact_id as conversion_id,
        stage as conversion_stage,
        contact_id,
        entered_at as converted_at,
        cast(null as {{ dbt.type_string() }}) as sale_id,
        cast(0 as decimal(18, 2)) as revenue_reporting

    from stages

    where stage in ('lead', 'mql', 'sql')

),

sale_conversions as (

    -- Every won deal and every matched in-store purchase (walk-ins have no journey to credit).
    select
        sale_id as conversion_id,
        case sale_type when 'crm_deal' then 'won_deal' else 'in_store_purchase' end as conversion_stage,
        contact_id,
        sold_at as converted_at,
        sale_id,
        coalesce(amount_reporting, 0) as revenue_reporting

    from sales

    where contact_id is not null

),

unioned as (

    select * from stage_conversions
    union all
    select * from sale_conversions

),

final as (

    -- A conversion recorded on a since-merged contact belongs to the survivor.
    select
        unioned.conversion_id,
        unioned.conversion_stage,
        coalesce(merged_contacts.survivor_contact_id, unioned.contact_id) as contact_id,
        unioned.converted_at,
        unioned.sale_id,
        unioned.revenue_reporting

    from unioned

    left join merged_contacts
        on unioned.contact_id = merged_contacts.merged_contact_id

)

select * from final
