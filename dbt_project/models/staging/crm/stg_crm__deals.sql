with

source as (

    select * from {{ source('crm', 'deals') }}

),

renamed as (

    select
        deal_id,
        deal_name,
        contact_id,
        company_id,
        owner_id,
        pipeline,
        lower(deal_stage) as deal_stage,
        cast(amount as decimal(18, 2)) as amount,
        upper(currency_code) as currency_code,
        cast(created_at as timestamp) as created_at,
        cast(closed_at as timestamp) as closed_at,
        closed_lost_reason,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
