with

source as (

    select * from {{ source('crm', 'deal_stage_history') }}

),

renamed as (

    select
        history_id,
        deal_id,
        lower(deal_stage) as deal_stage,
        cast(entered_at as timestamp) as entered_at,
        changed_by_id

    from source

)

select * from renamed
