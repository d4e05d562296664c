-- read once, by the next model
{{ config(materialized='view') }}

with

conversion_paths as (

    select * from {{ ref('int_attribution_conversion_paths') }}

),

person_paths as (

    select * from {{ ref('int_attribution_person_paths') }}

),

stages as (

    select distinct conversion_stage from conversion_paths

),

converting as (

    -- One journey per conversion.
    select
        conversion_stage,
        path,
        1 as conversions,
        0 as non_conversions

    from conversion_paths

),

converted_people as (

    select distinct lead_id as contact_id, conversion_stage from conversion_paths

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
