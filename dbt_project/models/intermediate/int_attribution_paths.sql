-- read once, by the next model
{{ config(materialized='view') }}
{%- set lookback_days = var('attribution_lookback_days') -%}

with

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

),

sessions as (

    select * from {{ ref('int_sessions_touch_resolved') }}

),

stages as (

    select distinct conversion_stage from touchpoints

),

converting as (

    -- One journey per conversion: its touchpoints' channels in time order.
    select
        conversion_stage,
        {{ dbt.listagg('channel', "' > '", 'order by touch_number') }} as path,
        1 as conversions,
        0 as non_conversions

    from touchpoints

    group by conversion_id, conversion_stage

),

converted_people as (

    select distinct lead_id as contact_id, conversion_stage from touchpoints

),

people as (

    -- A person is the contact a visitor became, else the anonymous visitor.
    select
        coalesce(contact_id, 'visitor:' || anonymous_id) as person_id,
        contact_id,
        session_id,
        session_started_at,
        channel,
        max(session_started_at) over (partition by coalesce(contact_id, 'visitor:' || anonymous_id)) as last_touched_at

    from sessions

),

in_window as (

    -- Each person's sessions in the look-back window before their last session.
    select * from people

    where session_started_at > {{ dbt.dateadd('day', -1 * lookback_days, 'last_touched_at') }}

),

session_counts as (

    select person_id, count(*) as sessions from in_window group by person_id

),

person_paths as (

    -- One path per person, built once (it does not depend on the stage). A one-session path is its
    -- channel: only longer journeys go through the ordered aggregation, which holds its input in
    -- memory (at scale 10, 6.5 million people, two thirds of them with one session).
    select
        in_window.person_id,
        in_window.contact_id,
        in_window.channel as path

    from in_window

    inner join session_counts
        on in_window.person_id = session_counts.person_id

    where session_counts.sessions = 1

    union all

    select
        in_window.person_id,
        in_window.contact_id,
        {{ dbt.listagg('in_window.channel', "' > '", 'order by in_window.session_started_at, in_window.session_id') }} as path

    from in_window

    inner join session_counts
        on in_window.person_id = session_counts.person_id

    where session_counts.sessions > 1

    group by in_window.person_id, in_window.contact_id

),

people_per_path as (

    select path, count(*) as people from person_paths group by path

),

converted_per_path as (

    select
        converted_people.conversion_stage,
        person_paths.path,
        count(*) as people

    from person_paths

    inner join converted_people
        on person_paths.contact_id = converted_people.contact_id

    group by converted_people.conversion_stage, person_paths.path

),

non_converting as (

    -- People who never converted at a stage, one journey each: everyone with the path, less those who
    -- converted at that stage.
    select
        stages.conversion_stage,
        people_per_path.path,
        0 as conversions,
        people_per_path.people - coalesce(converted_per_path.people, 0) as non_conversions

    from people_per_path

    cross join stages

    left join converted_per_path
        on stages.conversion_stage = converted_per_path.conversion_stage
        and people_per_path.path = converted_per_path.path

),

journeys as (

    select * from converting
    union all
    select * from non_converting

),

final as (

    select
        conversion_stage,
        path,
        cast(sum(conversions) as bigint) as conversions,
        cast(sum(non_conversions) as bigint) as non_conversions

    from journeys

    group by conversion_stage, path

    having sum(conversions) + sum(non_conversions) > 0

)

select * from final
