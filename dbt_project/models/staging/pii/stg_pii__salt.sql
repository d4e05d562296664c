with

source as (

    select * from {{ source('pii', 'salt') }}

),

renamed as (

    select
        cast(salt as {{ dbt.type_string() }}) as pii_salt

    from source

)

select * from renamed
