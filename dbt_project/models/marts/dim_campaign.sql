with

ad_spend as (

    select * from {{ ref('int_ad_spend_unioned') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by platform, account_id, campaign_id
            order by date_day desc, ad_group_id desc, ad_id desc
        ) as recency_rank

    from ad_spend

),

activity as (

    select
        platform,
        account_id,
        campaign_id,
        min(date_day) as first_active_date,
        max(date_day) as last_active_date,
        sum(impressions) as lifetime_impressions,
        sum(clicks) as lifetime_clicks

    from ad_spend

    group by 1, 2, 3

),

latest_names as (

    -- Names can be edited on the platform: the latest one wins.
    select
        platform,
        account_id,
        campaign_id,
        account_name,
        account_currency,
        campaign_name,
        channel

    from ranked

    where recency_rank = 1

),

final as (

    select
        {{ smarketing.surrogate_key(['activity.platform', 'activity.account_id', 'activity.campaign_id']) }}
            as campaign_key,
        cast(activity.platform as {{ dbt.type_string() }}) as platform,
        cast(latest_names.channel as {{ dbt.type_string() }}) as channel,
        cast(activity.account_id as {{ dbt.type_string() }}) as account_id,
        cast(latest_names.account_name as {{ dbt.type_string() }}) as account_name,
        cast(latest_names.account_currency as {{ dbt.type_string() }}) as account_currency,
        cast(activity.campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(latest_names.campaign_name as {{ dbt.type_string() }}) as campaign_name,
        cast(activity.first_active_date as date) as first_active_date,
        cast(activity.last_active_date as date) as last_active_date

    from activity

    inner join latest_names
        on activity.platform = latest_names.platform
        and activity.account_id = latest_names.account_id
        and activity.campaign_id = latest_names.campaign_id

)

select * from final
