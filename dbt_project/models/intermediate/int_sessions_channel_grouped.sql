{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='session_id',
        on_schema_change='append_new_columns',
    )
}}
-- A table, incremental by day: parsing every landing URL and referrer is the costliest step over
-- sessions, and a session's channel depends on nothing but the session (and the seeds).
{% set paid_medium = "^(.*cp.*|ppc|retargeting|paid.*)$" %}

with

sessions as (

    select * from {{ ref('stg_web__sessions') }}

    {% if smarketing.incremental_window() %}
    where session_started_at >= {{ smarketing.window_start() }}
    {% endif %}

),

source_categories as (

    select
        lower(source) as source,
        source_category

    from {{ ref('ga4_source_categories') }}

),

referrer_sources as (

    -- A referrer on the site's own domain (the landing host or a subdomain of it, or the other way
    -- round) is internal. GA4 names an external referral source by its host ('l.facebook.com') or,
    -- for the big engines and networks, by its name ('google' for google.es): try both.
    -- Columns added to the sessions themselves, not joined back on session_id: the URL parsing of the
    -- staging view then runs once per session, and no 10-million-row self join.
    select
        *,
        case
            when referrer_host is null then null
            when referrer_host = landing_page_host then null
            when referrer_host like ('%.' || landing_page_host) then null
            when landing_page_host like ('%.' || referrer_host) then null
            else referrer_host
        end as external_referrer_host,
        split_part(referrer_host, '.', 1) as referrer_first_label

    from sessions

),

categorised as (

    select
        referrer_sources.*,
        utm_source_category.source_category as utm_source_category,
        coalesce(
            referrer_host_category.source_category,
            referrer_first_label_category.source_category
        ) as referrer_category,
        coalesce({{ smarketing.regexp_matches('referrer_sources.utm_medium', paid_medium) }}, false) as is_paid_medium

    from referrer_sources

    left join source_categories as utm_source_category
        on referrer_sources.utm_source = utm_source_category.source

    left join source_categories as referrer_host_category
        on referrer_sources.external_referrer_host = referrer_host_category.source

    -- The null test sits inside the key: a side condition next to the equality makes DuckDB fall back
    -- to a nested-loop join.
    left join source_categories as referrer_first_label_category
        on case
            when referrer_sources.external_referrer_host is not null then referrer_sources.referrer_first_label
        end = referrer_first_label_category.source

),

source_categorised as (

    -- The session's source is utm_source when it has a category, else the external referrer.
    select
        *,
        coalesce(utm_source_category, referrer_category) as source_category

    from categorised

),

channel_grouped as (

    -- The rules of docs/conventions.md, in their order of precedence.
    select
        *,
        case
            when gclid is not null
                or (is_paid_medium and source_category = 'SOURCE_CATEGORY_SEARCH')
                then 'Paid Search'
            when is_paid_medium and source_category = 'SOURCE_CATEGORY_SOCIAL'
                then 'Paid Social'
            when utm_medium in ('email', 'e-mail', 'e_mail', 'e mail')
                or utm_source = 'newsletter'
                then 'Email'
            when not is_paid_medium
                and source_category = 'SOURCE_CATEGORY_SEARCH'
                then 'Organic Search'
            when not is_paid_medium
                and (source_category = 'SOURCE_CATEGORY_SOCIAL' or fbclid is not null)
                then 'Organic Social'
            when utm_medium = 'referral'
                or external_referrer_host is not null
                then 'Referral'
            when utm_source is null and utm_medium is null and utm_campaign is null
                and utm_content is null and utm_term is null
                and gclid is null and fbclid is null and li_fat_id is null
                and external_referrer_host is null
                then 'Direct'
            else 'Unassigned'
        end as channel

    from source_categorised

),

final as (

    select
        session_id,
        anonymous_id,
        session_started_at,
        session_ended_at,
        landing_page_host,
        referrer_host,
        external_referrer_host,
        device_category,
        geo_country,
        page_view_count,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        utm_term,
        gclid,
        fbclid,
        li_fat_id,
        utm_source_category,
        referrer_category,
        source_category,
        is_paid_medium,
        channel

    from channel_grouped

)

select * from final
