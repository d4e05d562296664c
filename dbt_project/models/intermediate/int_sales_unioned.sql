with

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

store_purchases as (

    select * from {{ ref('int_store_purchases_matched') }}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

won_deals as (

    select
        'crm_deal:' || deal_id as sale_id,
        'crm_deal' as sale_type,
        contact_id,
        deal_id,
        cast(null as {{ dbt.type_string() }}) as transaction_id,
        cast(null as {{ dbt.type_string() }}) as store_id,
        closed_at as sold_at,
        amount,
        currency_code,
        'crm' as match_method

    from deals

    where deal_stage = 'closedwon'
        and closed_at is not null

),

in_store as (

    select
        'in_store:' || transaction_id as sale_id,
        'in_store' as sale_type,
        contact_id,
        cast(null as {{ dbt.type_string() }}) as deal_id,
        transaction_id,
        store_id,
        purchased_at as sold_at,
        amount,
        currency_code,
        match_method

    from store_purchases

),

unioned as (

    select * from won_deals
    union all
    select * from in_store

),

with_rate_month as (

    -- The rate of the sale's month (of the UTC timestamp, as raw timestamps are UTC).
    select
        *,
        cast({{ dbt.date_trunc('month', 'sold_at') }} as date) as rate_month

    from unioned

),

converted as (

    -- fx_rates holds EUR per unit; going through EUR works for any reporting currency.
    select
        with_rate_month.*,
        sale_rate.rate_to_eur / reporting_rate.rate_to_eur as fx_rate_to_reporting,
        cast(
            with_rate_month.amount * sale_rate.rate_to_eur / reporting_rate.rate_to_eur
            as decimal(18, 2)
        ) as amount_reporting

    from with_rate_month

    left join fx_rates as sale_rate
        on with_rate_month.currency_code = sale_rate.currency_code
        and with_rate_month.rate_month = sale_rate.rate_month

    left join fx_rates as reporting_rate
        on reporting_rate.currency_code = '{{ var("reporting_currency") }}'
        and with_rate_month.rate_month = reporting_rate.rate_month

),

final as (

    select
        sale_id,
        sale_type,
        contact_id,
        deal_id,
        transaction_id,
        store_id,
        sold_at,
        amount,
        currency_code,
        fx_rate_to_reporting,
        amount_reporting,
        match_method

    from converted

)

select * from final
