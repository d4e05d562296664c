-- small (one row per ad and day): a view
{{ config(materialized='view') }}
with

google_ads as (

    select * from {{ ref('stg_google_ads__ad_stats') }}

),

meta_ads as (

    select * from {{ ref('stg_meta_ads__ad_insights') }}

),

linkedin_ads as (

    select * from {{ ref('stg_linkedin_ads__ad_analytics') }}

),

google_ads_shaped as (

    select
        date_day,
        'google_ads' as platform,
        account_id,
        account_name,
        account_currency,
        campaign_id,
        campaign_name,
        ad_group_id,
        ad_group_name,
        ad_id,
        impressions,
        clicks,
        spend as spend_account_currency

    from google_ads

),

meta_ads_shaped as (

    select
        date_day,
        'meta_ads' as platform,
        account_id,
        account_name,
        account_currency,
        campaign_id,
        campaign_name,
        adset_id as ad_group_id,
        adset_name as ad_group_name,
        ad_id,
        impressions,
        clicks,
        spend as spend_account_currency

    from meta_ads

),

linkedin_ads_shaped as (

    -- LinkedIn's campaign is the unit that carries budget, targeting and utm_campaign, so it maps to
    -- campaign; the campaign group (the level above) is kept in the ad group slot as its grouping.
    select
        date_day,
        'linkedin_ads' as platform,
        account_id,
        account_name,
        account_currency,
        campaign_id,
        campaign_name,
        campaign_group_id as ad_group_id,
        campaign_group_name as ad_group_name,
        creative_id as ad_id,
        impressions,
        clicks,
        spend as spend_account_currency

    from linkedin_ads

),

unioned as (

    select * from google_ads_shaped
    union all
    select * from meta_ads_shaped
    union all
    select * from linkedin_ads_shaped

),

final as (

    select
        *,
        case platform
            when 'google_ads' then 'Paid Search'
            else 'Paid Social'
        end as channel

    from unioned

)

select * from final
