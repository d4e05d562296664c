with

source as (

    select * from {{ source('store', 'loyalty_members') }}

),

renamed as (

    select
        loyalty_id,
        nullif(lower(trim(email_sha256)), '') as email_sha256,
        nullif(lower(trim(phone_sha256)), '') as phone_sha256,
        cast(joined_at as timestamp) as joined_at

    from source

)

select * from renamed
