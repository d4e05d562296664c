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

person_paths as (

    -- Each person's sessions in the look-back window before their last session, as one path. The
    -- path does not depend on the stage, so it is built once (not once per stage: at scale 10 that
    -- is 50 million rows to aggregate in order, past DuckDB's memory limit).
    select
        person_id,
        contact_id,
        {{ dbt.listagg('channel', "' > '", 'order by session_started_at, session_id') }} as path

    from people

    where session_started_at > {{ dbt.dateadd('day', -1 * lookback_days, 'last_touched_at') }}

    group by person_id, contact_id

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
