with

source as (

    select * from {{ source('web', 'sessions') }}

),

renamed as (

    select
        session_id,
        anonymous_id,
        cast(session_started_at as timestamp) as session_started_at,
        cast(session_ended_at as timestamp) as session_ended_at,
        landing_page_url,
        nullif(trim(referrer_url), '') as referrer_url,
        lower(device_category) as device_category,
        upper(geo_country) as geo_country,
        cast(page_view_count as integer) as page_view_count

    from source

),

url_parsed as (

    select
        *,
        lower({{ smarketing.url_parameter('landing_page_url', 'utm_source') }}) as utm_source,
        lower({{ smarketing.url_parameter('landing_page_url', 'utm_medium') }}) as utm_medium,
        lower({{ smarketing.url_parameter('landing_page_url', 'utm_campaign') }}) as utm_campaign,
        lower({{ smarketing.url_parameter('landing_page_url', 'utm_content') }}) as utm_content,
        lower({{ smarketing.url_parameter('landing_page_url', 'utm_term') }}) as utm_term,
        {{ smarketing.url_parameter('landing_page_url', 'gclid') }} as gclid,
        {{ smarketing.url_parameter('landing_page_url', 'fbclid') }} as fbclid,
        {{ smarketing.url_parameter('landing_page_url', 'li_fat_id') }} as li_fat_id,
        {{ smarketing.url_host('landing_page_url') }} as landing_page_host,
        {{ smarketing.url_host('referrer_url') }} as referrer_host

    from renamed

)

select * from url_parsed
