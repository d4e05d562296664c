{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='ad_spend_id',
        on_schema_change='append_new_columns',
    )
}}
-- Incremental by day: the window's days are rebuilt (ad platforms restate recent days).
with

ad_spend as (

    select * from {{ ref('int_ad_spend_unioned') }}

    {% if smarketing.incremental_window() %}
    where date_day >= {{ smarketing.window_start_date() }}
    {% endif %}

),

fx_rates as (

    select * from {{ ref('fx_rates') }}

),

aggregated as (

    select
        date_day,
        platform,
        account_id,
        campaign_id,
        ad_group_id,
        ad_id,
        max(channel) as channel,
        max(account_currency) as account_currency,
        max(campaign_name) as campaign_name,
        max(ad_group_name) as ad_group_name,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend_account_currency) as spend_account_currency

    from ad_spend

    group by 1, 2, 3, 4, 5, 6

),

converted as (

    -- Monthly rate of the account's calendar month; through EUR, so any reporting currency works.
    select
        aggregated.*,
        -- Rounded to 10 decimals here so that every database multiplies the same number (DuckDB
        -- divides decimals in floating point, PostgreSQL in exact numeric).
        cast(account_rate.rate_to_eur / reporting_rate.rate_to_eur as decimal(18, 10)) as fx_rate_to_reporting

    from aggregated

    left join fx_rates as account_rate
        on aggregated.account_currency = account_rate.currency_code
        and cast({{ dbt.date_trunc('month', 'aggregated.date_day') }} as date) = account_rate.rate_month

    left join fx_rates as reporting_rate
        on reporting_rate.currency_code = '{{ var("reporting_currency") }}'
        and cast({{ dbt.date_trunc('month', 'aggregated.date_day') }} as date) = reporting_rate.rate_month

),

final as (

    select
        {{ smarketing.surrogate_key(['date_day', 'platform', 'account_id', 'campaign_id', 'ad_group_id', 'ad_id']) }}
            as ad_spend_id,
        cast(date_day as date) as date_day,
        cast(platform as {{ dbt.type_string() }}) as platform,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        {{ smarketing.surrogate_key(['platform', 'account_id', 'campaign_id']) }} as campaign_key,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(campaign_name as {{ dbt.type_string() }}) as campaign_name,
        cast(ad_group_id as {{ dbt.type_string() }}) as ad_group_id,
        cast(ad_group_name as {{ dbt.type_string() }}) as ad_group_name,
        cast(ad_id as {{ dbt.type_string() }}) as ad_id,
        cast(account_currency as {{ dbt.type_string() }}) as account_currency,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(spend_account_currency as decimal(18, 6)) as spend_account_currency,
        cast(fx_rate_to_reporting as decimal(18, 6)) as fx_rate_to_reporting,
        cast(spend_account_currency * fx_rate_to_reporting as decimal(18, 6)) as spend_reporting

    from converted

)

select * from final
