{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ smarketing.delete_changed_leads() }}",
    )
}}
-- Incremental by day: the touchpoints of contacts that changed in the window are rebuilt whole (a
-- conversion's touches only come before it, so nobody else's can change).
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_visitors_identified') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}
{% set lookback_days = var('attribution_lookback_days') %}

with

conversions as (

    select * from {{ ref('int_conversions_unioned') }}

    {% if smarketing.incremental_window() %}
    where contact_id in ({{ smarketing.changed_contact_ids() }})
    {% endif %}

),

sessions as (

    select * from {{ ref('int_sessions_touch_resolved') }}

),

lead_channels as (

    select * from {{ ref('int_leads_channel_assigned') }}

),

web_touches as (

    -- Every web session of the converting contact's visitors inside the look-back window, up to the
    -- conversion itself.
    select
        conversions.conversion_id,
        'web_session' as touch_type,
        sessions.session_id,
        sessions.session_started_at as touched_at,
        sessions.channel,
        sessions.session_channel,
        sessions.is_direct_continuation,
        sessions.platform,
        sessions.account_id,
        sessions.campaign_id

    from conversions

    inner join sessions
        on conversions.contact_id = sessions.contact_id
        and sessions.session_started_at <= conversions.converted_at
        and sessions.session_started_at > {{ dbt.dateadd('day', -1 * lookback_days, 'conversions.converted_at') }}

),

crm_touches as (

    -- A conversion without a web touch in the window (trade-show leads, old journeys) gets one touch:
    -- the lead's own channel (first web touch, else the CRM original source), at the conversion time.
    select
        conversions.conversion_id,
        'crm_lead_channel' as touch_type,
        cast(null as {{ dbt.type_string() }}) as session_id,
        conversions.converted_at as touched_at,
        coalesce(lead_channels.channel, 'Unassigned') as channel,
        coalesce(lead_channels.channel, 'Unassigned') as session_channel,
        false as is_direct_continuation,
        cast(null as {{ dbt.type_string() }}) as platform,
        cast(null as {{ dbt.type_string() }}) as account_id,
        cast(null as {{ dbt.type_string() }}) as campaign_id

    from conversions

    left join lead_channels
        on conversions.contact_id = lead_channels.contact_id

    -- not exists, not "not in": an anti-join on every engine (PostgreSQL scans a large "not in" list per row)
    where not exists (select 1 from web_touches where web_touches.conversion_id = conversions.conversion_id)

),

touches as (

    select * from web_touches
    union all
    select * from crm_touches

),

numbered as (

    select
        touches.*,
        row_number() over (
            partition by touches.conversion_id order by touches.touched_at, touches.session_id
        ) as touch_number,
        count(*) over (partition by touches.conversion_id) as touch_count

    from touches

),

final as (

    select
        {{ smarketing.surrogate_key(['numbered.conversion_id', 'numbered.touch_number']) }} as touchpoint_id,
        cast(numbered.conversion_id as {{ dbt.type_string() }}) as conversion_id,
        cast(conversions.conversion_stage as {{ dbt.type_string() }}) as conversion_stage,
        cast(conversions.contact_id as {{ dbt.type_string() }}) as lead_id,
        cast(conversions.converted_at as timestamp) as converted_at,
        cast(conversions.revenue_reporting as decimal(18, 2)) as conversion_revenue_reporting,
        cast(numbered.touch_type as {{ dbt.type_string() }}) as touch_type,
        cast(numbered.session_id as {{ dbt.type_string() }}) as session_id,
        cast(numbered.touched_at as timestamp) as touched_at,
        cast(numbered.channel as {{ dbt.type_string() }}) as channel,
        cast(numbered.session_channel as {{ dbt.type_string() }}) as session_channel,
        cast(numbered.is_direct_continuation as boolean) as is_direct_continuation,
        cast(numbered.platform as {{ dbt.type_string() }}) as platform,
        case
            when numbered.campaign_id is not null
                then {{ smarketing.surrogate_key(['numbered.platform', 'numbered.account_id', 'numbered.campaign_id']) }}
        end as campaign_key,
        cast(numbered.campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(numbered.touch_number as integer) as touch_number,
        cast(numbered.touch_count as integer) as touch_count,
        cast(
            {{ dbt.datediff('numbered.touched_at', 'conversions.converted_at', 'second') }} / 86400.0
            as double precision
        ) as days_before_conversion

    from numbered

    inner join conversions
        on numbered.conversion_id = conversions.conversion_id

)

select * from final
