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
        1 as converted

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

non_converting as (

    -- People who never converted at a stage: their sessions in the look-back window before their
    -- last session, one journey per person and stage.
    select
        stages.conversion_stage,
        {{ dbt.listagg('people.channel', "' > '", 'order by people.session_started_at, people.session_id') }} as path,
        0 as converted

    from people

    cross join stages

    left join converted_people
        on people.contact_id = converted_people.contact_id
        and stages.conversion_stage = converted_people.conversion_stage

    where people.session_started_at > {{ dbt.dateadd('day', -1 * lookback_days, 'people.last_touched_at') }}
        and converted_people.contact_id is null

    group by stages.conversion_stage, people.person_id

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
        cast(sum(converted) as bigint) as conversions,
        cast(sum(1 - converted) as bigint) as non_conversions

    from journeys

    group by conversion_stage, path

)

select * from final
