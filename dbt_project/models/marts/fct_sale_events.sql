{#- The sale-grain inputs of the shared KPIs (semantic model `sale_events`): the sale's day in the
    reporting time zone and the channel its revenue counts for (the lead's; Offline for walk-ins). -#}
with

sales as (

    select * from {{ ref('fct_lead_to_sale') }}

),

final as (

    select
        cast(sale_id as {{ dbt.type_string() }}) as sale_id,
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(coalesce(lead_channel, 'Offline') as {{ dbt.type_string() }}) as channel,
        cast(sale_type as {{ dbt.type_string() }}) as sale_type,
        cast({{ smarketing.to_reporting_tz('sold_at') }} as date) as sold_date,
        cast(case when lead_id is not null then amount_reporting else 0 end as decimal(18, 2))
            as lead_revenue_reporting,
        cast(case when lead_id is null then amount_reporting else 0 end as decimal(18, 2))
            as walk_in_revenue_reporting,
        cast(case when lead_id is not null then 1 else 0 end as integer) as is_lead_sale

    from sales

)

select * from final
