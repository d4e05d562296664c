with

source as (

    select * from {{ source('google_ads', 'ad_stats') }}

),

renamed as (

    select
        cast(customer_id as {{ dbt.type_string() }}) as account_id,
        customer_descriptive_name as account_name,
        upper(customer_currency_code) as account_currency,
        customer_time_zone as account_time_zone,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        campaign_name,
        campaign_advertising_channel_type as campaign_type,
        cast(ad_group_id as {{ dbt.type_string() }}) as ad_group_id,
        ad_group_name,
        cast(ad_group_ad_ad_id as {{ dbt.type_string() }}) as ad_id,
        cast(segments_date as date) as date_day,
        cast(metrics_impressions as bigint) as impressions,
        cast(metrics_clicks as bigint) as clicks,
        cast(cast(metrics_cost_micros as decimal(24, 6)) / 1000000 as decimal(18, 6)) as spend,
        cast(metrics_conversions as double precision) as conversions

    from source

)

select * from renamed
