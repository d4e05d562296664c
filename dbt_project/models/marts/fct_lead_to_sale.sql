with

sales as (

    select * from {{ ref('int_sales_unioned') }}

),

lead_channels as (

    select * from {{ ref('int_leads_channel_assigned') }}

),

lead_stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

),

lead_created as (

    select
        contact_id,
        entered_at as lead_at

    from lead_stages

    where stage = 'lead'

),

ranked as (

    select
        sales.*,
        case
            when sales.contact_id is null then null
            else row_number() over (
                partition by sales.contact_id
                order by sales.sold_at, sales.sale_id
            )
        end as sale_rank

    from sales

),

joined as (

    select
        ranked.sale_id,
        ranked.sale_type,
        ranked.contact_id as lead_id,
        ranked.sold_at,
        ranked.amount,
        ranked.currency_code,
        ranked.fx_rate_to_reporting,
        ranked.amount_reporting,
        lead_channels.channel as lead_channel,
        ranked.store_id,
        ranked.deal_id,
        ranked.transaction_id,
        {{ dbt.datediff('lead_created.lead_at', 'ranked.sold_at', 'day') }} as days_to_close,
        coalesce(ranked.sale_rank = 1, false) as is_first_sale,
        ranked.match_method

    from ranked

    left join lead_channels
        on ranked.contact_id = lead_channels.contact_id

    left join lead_created
        on ranked.contact_id = lead_created.contact_id

),

final as (

    select
        cast(sale_id as {{ dbt.type_string() }}) as sale_id,
        cast(sale_type as {{ dbt.type_string() }}) as sale_type,
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(sold_at as timestamp) as sold_at,
        cast(amount as decimal(18, 2)) as amount,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(fx_rate_to_reporting as decimal(18, 6)) as fx_rate_to_reporting,
        cast(amount_reporting as decimal(18, 2)) as amount_reporting,
        cast(lead_channel as {{ dbt.type_string() }}) as lead_channel,
        cast(store_id as {{ dbt.type_string() }}) as store_id,
        cast(deal_id as {{ dbt.type_string() }}) as deal_id,
        cast(transaction_id as {{ dbt.type_string() }}) as transaction_id,
        cast(days_to_close as integer) as days_to_close,
        cast(is_first_sale as boolean) as is_first_sale,
        cast(match_method as {{ dbt.type_string() }}) as match_method

    from joined

)

select * from final
