with

source as (

    select * from {{ source('crm', 'engagements') }}

),

renamed as (

    select
        engagement_id,
        upper(engagement_type) as engagement_type,
        contact_id,
        owner_id,
        cast(occurred_at as timestamp) as occurred_at,
        upper(direction) as direction,
        upper(outcome) as outcome

    from source

)

select * from renamed
