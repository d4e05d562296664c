{%- set timeout_minutes = var('attribution_session_timeout_minutes') -%}

with

sessions as (

    select * from {{ ref('int_sessions_channel_grouped') }}

),

visitors as (

    select * from {{ ref('int_visitors_identified') }}

),

ad_campaigns as (

    select distinct platform, account_id, campaign_id from {{ ref('int_ad_spend_unioned') }}

),

with_platform as (

    -- The ad platform a paid session came from (a gclid is Google even without UTMs).
    select
        sessions.*,
        case
            when sessions.channel = 'Paid Search' and (sessions.gclid is not null or lower(sessions.utm_source) = 'google')
                then 'google_ads'
            when sessions.channel = 'Paid Social' and lower(sessions.utm_source) in ('facebook', 'instagram', 'meta')
                then 'meta_ads'
            when sessions.channel = 'Paid Social' and lower(sessions.utm_source) = 'linkedin'
                then 'linkedin_ads'
        end as platform,
        lag(sessions.session_ended_at) over (
            partition by sessions.anonymous_id order by sessions.session_started_at, sessions.session_id
        ) as previous_session_ended_at

    from sessions

),

chains as (

    -- A visit chain: sessions of a visitor each starting within the session timeout of the previous
    -- one's end (GA4's default 30 minutes).
    select
        *,
        sum(
            case
                when previous_session_ended_at is null then 1
                when session_started_at > {{ dbt.dateadd('minute', timeout_minutes, 'previous_session_ended_at') }} then 1
                else 0
            end
        ) over (
            partition by anonymous_id order by session_started_at, session_id
            rows between unbounded preceding and current row
        ) as chain_number

    from with_platform

),

known_sources as (

    -- The latest session with a known (non-Direct) source up to each session, within its chain.
    select
        *,
        max(case when channel <> 'Direct' then session_started_at end) over (
            partition by anonymous_id, chain_number order by session_started_at, session_id
            rows between unbounded preceding and current row
        ) as known_source_started_at

    from chains

),

known_source_sessions as (

    select * from known_sources where channel <> 'Direct'

),

chained as (

    -- Direct never overrides an earlier known source within a session: a Direct session continuing
    -- a chain keeps the source of the chain's latest known-source session.
    select
        known_sources.*,
        source_session.session_id as source_session_id,
        source_session.channel as source_channel,
        source_session.platform as source_platform,
        source_session.utm_campaign as source_campaign_id,
        source_session.session_id is not null as is_direct_continuation

    from known_sources

    -- Only Direct sessions look for a source: the test sits inside the join key, because a side
    -- condition next to the equalities makes DuckDB fall back to a nested-loop join.
    left join known_source_sessions as source_session
        on source_session.anonymous_id = known_sources.anonymous_id
        and source_session.chain_number = known_sources.chain_number
        and source_session.session_started_at = (
            case when known_sources.channel = 'Direct' then known_sources.known_source_started_at end
        )

),

final as (

    select
        chained.session_id,
        chained.anonymous_id,
        visitors.contact_id,
        chained.session_started_at,
        chained.channel as session_channel,
        case when chained.is_direct_continuation then chained.source_channel else chained.channel end as channel,
        case when chained.is_direct_continuation then chained.source_platform else chained.platform end as platform,
        case
            when chained.is_direct_continuation then chained.source_campaign_id else chained.utm_campaign
        end as utm_campaign,
        case
            when chained.is_direct_continuation then chained.source_session_id else chained.session_id
        end as source_session_id,
        chained.is_direct_continuation,
        ad_campaigns.account_id,
        ad_campaigns.campaign_id

    from chained

    left join visitors
        on chained.anonymous_id = visitors.anonymous_id

    left join ad_campaigns
        on ad_campaigns.platform = (
            case when chained.is_direct_continuation then chained.source_platform else chained.platform end
        )
        and ad_campaigns.campaign_id = (
            case when chained.is_direct_continuation then chained.source_campaign_id else chained.utm_campaign end
        )

)

select * from final
