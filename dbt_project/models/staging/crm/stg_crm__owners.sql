with

source as (

    select * from {{ source('crm', 'owners') }}

),

renamed as (

    select
        owner_id,
        first_name,
        last_name,
        nullif(lower(trim(email)), '') as email_normalised,
        team,
        upper(region) as region,
        coalesce(is_active, false) as is_active,
        cast(created_at as timestamp) as created_at

    from source

)

select * from renamed
