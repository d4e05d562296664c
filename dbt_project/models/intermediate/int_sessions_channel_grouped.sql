{%- set paid_medium = "^(.*cp.*|ppc|retargeting|paid.*)$" -%}

with

sessions as (

    select * from {{ ref('stg_web__sessions') }}

),

source_categories as (

    select * from {{ ref('ga4_source_categories') }}

),

referrer_sources as (

    -- GA4 names a referral source by the referrer's host ('l.facebook.com') or, for the big
    -- engines and networks, by its name ('google' for www.google.es): try both.
    select
        session_id,
        referrer_host,
        case
            when referrer_host is null then null
            when referrer_host = landing_page_host then null
            else referrer_host
        end as external_referrer_host,
        split_part(referrer_host, '.', 1) as referrer_first_label,
        case
            when referrer_host like '%.%.%'
                then split_part(referrer_host, '.', 2)
            else split_part(referrer_host, '.', 1)
        end as referrer_domain_label

    from sessions

),

categorised as (

    select
        sessions.*,
        referrer_sources.external_referrer_host,
        utm_source_category.source_category as utm_source_category,
        coalesce(
            referrer_host_category.source_category,
            referrer_first_label_category.source_category,
            referrer_domain_label_category.source_category
        ) as referrer_category,
        coalesce({{ smarketing.regexp_matches('sessions.utm_medium', paid_medium) }}, false) as is_paid_medium

    from sessions

    inner join referrer_sources
        on sessions.session_id = referrer_sources.session_id

    left join source_categories as utm_source_category
        on sessions.utm_source = utm_source_category.source

    left join source_categories as referrer_host_category
        on referrer_sources.external_referrer_host = referrer_host_category.source

    left join source_categories as referrer_first_label_category
        on referrer_sources.external_referrer_host is not null
        and referrer_sources.referrer_first_label = referrer_first_label_category.source

    left join source_categories as referrer_domain_label_category
        on referrer_sources.external_referrer_host is not null
        and referrer_sources.referrer_domain_label = referrer_domain_label_category.source

),

channel_grouped as (

    -- The rules of docs/conventions.md, in their order of precedence.
    select
        *,
        case
            when gclid is not null
                or (is_paid_medium and utm_source_category = 'SOURCE_CATEGORY_SEARCH')
                then 'Paid Search'
            when is_paid_medium and utm_source_category = 'SOURCE_CATEGORY_SOCIAL'
                then 'Paid Social'
            when utm_medium in ('email', 'e-mail', 'e_mail', 'e mail')
                or utm_source = 'newsletter'
                then 'Email'
            when not is_paid_medium
                and (referrer_category = 'SOURCE_CATEGORY_SEARCH'
                    or utm_source_category = 'SOURCE_CATEGORY_SEARCH')
                then 'Organic Search'
            when not is_paid_medium
                and (referrer_category = 'SOURCE_CATEGORY_SOCIAL'
                    or utm_source_category = 'SOURCE_CATEGORY_SOCIAL'
                    or fbclid is not null)
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

    from categorised

),

final as (

    select
        session_id,
        anonymous_id,
        session_started_at,
        session_ended_at,
        landing_page_url,
        landing_page_host,
        referrer_url,
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
        is_paid_medium,
        channel

    from channel_grouped

)

select * from final
