{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='session_id',
        on_schema_change='append_new_columns',
    )
}}
-- Incremental by day: new sessions, plus every session of a visitor whose contact changed (a visitor
-- identified today turns its earlier anonymous sessions into the lead's).
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_visitors_identified') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}
with

sessions as (

    select * from {{ ref('int_sessions_channel_grouped') }}

    {% if smarketing.incremental_window() %}
    where session_started_at >= {{ smarketing.window_start() }}
        or anonymous_id in (
            select anonymous_id from {{ ref('int_visitors_identified') }}
            where contact_id in ({{ smarketing.changed_contact_ids() }})
        )
        or anonymous_id in (
            select anonymous_id from {{ this }} where lead_id in ({{ smarketing.changed_contact_ids() }})
        )
    {% endif %}

),

visitors as (

    select * from {{ ref('int_visitors_identified') }}

),

lead_conversions as (

    -- The session of the lead's first identifying form submission, over all its visitor ids.
    select
        contact_id,
        first_submission_session_id as conversion_session_id

    from (
        select
            contact_id,
            first_submission_session_id,
            row_number() over (
                partition by contact_id
                order by identified_at, first_submission_id
            ) as conversion_rank

        from visitors
    ) as ranked

    where conversion_rank = 1

),

joined as (

    select
        sessions.*,
        visitors.contact_id as lead_id,
        lead_conversions.conversion_session_id is not null as is_lead_conversion_session

    from sessions

    left join visitors
        on sessions.anonymous_id = visitors.anonymous_id

    left join lead_conversions
        on sessions.session_id = lead_conversions.conversion_session_id

),

final as (

    select
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(anonymous_id as {{ dbt.type_string() }}) as anonymous_id,
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(session_started_at as timestamp) as session_started_at,
        cast(session_ended_at as timestamp) as session_ended_at,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(utm_source as {{ dbt.type_string() }}) as utm_source,
        cast(utm_medium as {{ dbt.type_string() }}) as utm_medium,
        cast(utm_campaign as {{ dbt.type_string() }}) as utm_campaign,
        cast(utm_content as {{ dbt.type_string() }}) as utm_content,
        cast(utm_term as {{ dbt.type_string() }}) as utm_term,
        cast(gclid as {{ dbt.type_string() }}) as gclid,
        cast(fbclid as {{ dbt.type_string() }}) as fbclid,
        cast(li_fat_id as {{ dbt.type_string() }}) as li_fat_id,
        cast(landing_page_host as {{ dbt.type_string() }}) as landing_page_host,
        cast(referrer_host as {{ dbt.type_string() }}) as referrer_host,
        cast(device_category as {{ dbt.type_string() }}) as device_category,
        cast(geo_country as {{ dbt.type_string() }}) as geo_country,
        cast(page_view_count as integer) as page_view_count,
        cast(lead_id is not null as boolean) as is_identified_visitor,
        cast(is_lead_conversion_session as boolean) as is_lead_conversion_session

    from joined

)

select * from final
