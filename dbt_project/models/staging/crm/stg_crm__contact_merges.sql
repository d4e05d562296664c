with

source as (

    select * from {{ source('crm', 'contact_merges') }}

),

renamed as (

    select
        merged_contact_id,
        merged_into_contact_id,
        nullif(lower(trim(email)), '') as email_normalised,
        cast(merged_at as timestamp) as merged_at

    from source

)

select * from renamed
