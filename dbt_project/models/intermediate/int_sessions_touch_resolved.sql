{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='session_id',
        on_schema_change='append_new_columns',
    )
}}
-- Incremental by day: a visitor's touches depend on the visitor's whole history (visit chains) and
-- on the lead the visitor is, so a daily run rebuilds every session of the visitors with a session in
-- the window or whose contact changed; everyone else's rows stay as they were.
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}
{%- set timeout_minutes = var('attribution_session_timeout_minutes') %}

with

sessions as (

    -- Only the columns the touch needs: every window below sorts what it carries.
    select session_id, anonymous_id, session_started_at, session_ended_at, channel, gclid, utm_source, utm_campaign
    from {{ ref('int_sessions_channel_grouped') }}

    {% if smarketing.incremental_window() %}
    where anonymous_id in (
            select anonymous_id from {{ ref('int_sessions_channel_grouped') }}
            where session_started_at >= {{ smarketing.window_start() }}
        )
        or anonymous_id in (
            select anonymous_id from {{ ref('int_visitors_identified') }}
            where contact_id in ({{ smarketing.changed_contact_ids() }})
        )
        or anonymous_id in (
            select anonymous_id from {{ this }} where contact_id in ({{ smarketing.changed_contact_ids() }})
        )
    {% endif %}

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
        session_id,
        anonymous_id,
        session_started_at,
        channel,
        utm_campaign,
        case
            when channel = 'Paid Search' and (gclid is not null or lower(utm_source) = 'google')
                then 'google_ads'
            when channel = 'Paid Social' and lower(utm_source) in ('facebook', 'instagram', 'meta')
                then 'meta_ads'
            when channel = 'Paid Social' and lower(utm_source) = 'linkedin'
                then 'linkedin_ads'
        end as platform,
        lag(session_ended_at) over (
            partition by anonymous_id order by session_started_at, session_id
        ) as previous_session_ended_at

    from sessions

),

segmented as (

    -- A visit chain: sessions of a visitor each starting within the session timeout of the previous
    -- one's end (GA4's default 30 minutes). A segment starts at a session with a known (non-Direct)
    -- source or at the start of a chain; the Direct sessions after it, up to the next segment, are
    -- the same chain with no newer known source.
    select
        *,
        case
            when channel <> 'Direct' then 1
            when previous_session_ended_at is null then 1
            when session_started_at > {{ dbt.dateadd('minute', timeout_minutes, 'previous_session_ended_at') }} then 1
            else 0
        end as starts_segment

    from with_platform

),

chained as (

    -- Direct never overrides an earlier known source within a session: a Direct session continuing
    -- a chain keeps the source of the chain's latest known-source session, its segment's first.
    {% if target.type == 'duckdb' %}
    -- DuckDB: the latest segment start at or before each session, in the same window (same sort) as
    -- the lag above; a struct, so that its null fields (no platform) are not skipped.
    select
        * exclude (head),
        head.session_id as head_session_id,
        head.channel as head_channel,
        head.platform as head_platform,
        head.utm_campaign as head_campaign_id

    from (
        select
            *,
            last_value(
                case when starts_segment = 1 then
                    {'session_id': session_id, 'channel': channel, 'platform': platform, 'utm_campaign': utm_campaign}
                end
                ignore nulls
            ) over (
                partition by anonymous_id order by session_started_at, session_id
                rows between unbounded preceding and current row
            ) as head

        from segmented
    ) as with_head
    {% else %}
    -- Elsewhere (no IGNORE NULLS): number the segments, then each segment's first row is its head.
    select
        *,
        first_value(session_id) over segment as head_session_id,
        first_value(channel) over segment as head_channel,
        first_value(platform) over segment as head_platform,
        first_value(utm_campaign) over segment as head_campaign_id

    from (
        select
            *,
            sum(starts_segment) over (
                partition by anonymous_id order by session_started_at, session_id
                rows between unbounded preceding and current row
            ) as segment_number

        from segmented
    ) as numbered

    window segment as (
        partition by anonymous_id, segment_number order by session_started_at, session_id
        rows between unbounded preceding and current row
    )
    {% endif %}

),

resolved as (

    select
        session_id,
        anonymous_id,
        session_started_at,
        channel as session_channel,
        channel = 'Direct' and head_channel <> 'Direct' as is_direct_continuation,
        head_session_id,
        head_channel,
        head_platform,
        head_campaign_id,
        platform,
        utm_campaign

    from chained

),

final as (

    select
        resolved.session_id,
        resolved.anonymous_id,
        visitors.contact_id,
        resolved.session_started_at,
        resolved.session_channel,
        case when resolved.is_direct_continuation then resolved.head_channel else resolved.session_channel end as channel,
        case when resolved.is_direct_continuation then resolved.head_platform else resolved.platform end as platform,
        case
            when resolved.is_direct_continuation then resolved.head_campaign_id else resolved.utm_campaign
        end as utm_campaign,
        case
            when resolved.is_direct_continuation then resolved.head_session_id else resolved.session_id
        end as source_session_id,
        resolved.is_direct_continuation,
        ad_campaigns.account_id,
        ad_campaigns.campaign_id

    from resolved

    left join visitors
        on resolved.anonymous_id = visitors.anonymous_id

    left join ad_campaigns
        on ad_campaigns.platform = (
            case when resolved.is_direct_continuation then resolved.head_platform else resolved.platform end
        )
        and ad_campaigns.campaign_id = (
            case when resolved.is_direct_continuation then resolved.head_campaign_id else resolved.utm_campaign end
        )

)

select * from final
