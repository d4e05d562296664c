with

source as (

    select * from {{ source('store', 'purchases') }}

),

renamed as (

    select
        transaction_id,
        store_id,
        store_name,
        upper(store_country) as store_country,
        cast(purchased_at as timestamp) as purchased_at,
        cast(amount as decimal(18, 2)) as amount,
        upper(currency_code) as currency_code,
        nullif(lower(trim(customer_email_sha256)), '') as customer_email_sha256,
        nullif(lower(trim(customer_phone_sha256)), '') as customer_phone_sha256,
        nullif(trim(loyalty_id), '') as loyalty_id

    from source

)

select * from renamed
