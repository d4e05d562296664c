with

source as (

    select * from {{ source('linkedin_ads', 'ad_analytics') }}

),

renamed as (

    select
        account_id,
        account_name,
        upper(account_currency) as account_currency,
        campaign_group_id,
        campaign_group_name,
        campaign_id,
        campaign_name,
        pivot_value as creative_urn,
        -- 'urn:li:sponsoredCreative:123' -> '123'
        {{ smarketing.regexp_capture('pivot_value', '([^:]+)$') }} as creative_id,
        cast(date_range_start as date) as date_day,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(coalesce(nullif(trim(cost_in_local_currency), ''), '0') as decimal(18, 6)) as spend,
        cast(external_website_conversions as bigint) as conversions

    from source

)

select * from renamed
