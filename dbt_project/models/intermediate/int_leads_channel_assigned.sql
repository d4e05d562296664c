with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

visitors as (

    select * from {{ ref('int_visitors_identified') }}

),

sessions as (

    select * from {{ ref('int_sessions_channel_grouped') }}

),

contact_sessions_ranked as (

    select
        visitors.contact_id,
        sessions.session_id,
        sessions.session_started_at,
        sessions.channel,
        row_number() over (
            partition by visitors.contact_id
            order by sessions.session_started_at, sessions.session_id
        ) as session_rank

    from visitors

    inner join sessions
        on visitors.anonymous_id = sessions.anonymous_id

),

first_touch as (

    select
        contact_id,
        session_id as first_session_id,
        session_started_at as first_session_started_at,
        channel as first_session_channel

    from contact_sessions_ranked

    where session_rank = 1

),

original_source_mapped as (

    select
        contact_id,
        original_source,
        case original_source
            when 'PAID_SEARCH' then 'Paid Search'
            when 'PAID_SOCIAL' then 'Paid Social'
            when 'ORGANIC_SEARCH' then 'Organic Search'
            when 'SOCIAL_MEDIA' then 'Organic Social'
            when 'EMAIL_MARKETING' then 'Email'
            when 'REFERRALS' then 'Referral'
            when 'DIRECT_TRAFFIC' then 'Direct'
            when 'OFFLINE' then 'Offline'
            else 'Unassigned'
        end as original_source_channel

    from contacts

),

final as (

    select
        original_source_mapped.contact_id,
        original_source_mapped.original_source,
        original_source_mapped.original_source_channel,
        first_touch.first_session_id,
        first_touch.first_session_started_at,
        first_touch.first_session_channel,
        coalesce(first_touch.first_session_channel, original_source_mapped.original_source_channel) as channel,
        case
            when first_touch.first_session_id is not null then 'web_first_touch'
            else 'crm_original_source'
        end as channel_attribution

    from original_source_mapped

    left join first_touch
        on original_source_mapped.contact_id = first_touch.contact_id

)

select * from final
