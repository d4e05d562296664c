with

source as (

    select * from {{ source('meta_ads', 'ad_insights') }}

),

renamed as (

    select
        account_id,
        account_name,
        upper(account_currency) as account_currency,
        campaign_id,
        campaign_name,
        adset_id,
        adset_name,
        ad_id,
        ad_name,
        cast(date_start as date) as date_day,
        cast(date_stop as date) as date_stop,
        cast(coalesce(nullif(trim(impressions), ''), '0') as bigint) as impressions,
        cast(coalesce(nullif(trim(clicks), ''), '0') as bigint) as clicks,
        cast(coalesce(nullif(trim(spend), ''), '0') as decimal(18, 6)) as spend,
        actions as actions_json

    from source

)

select * from renamed
