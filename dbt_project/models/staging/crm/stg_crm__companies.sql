with

source as (

    select * from {{ source('crm', 'companies') }}

),

renamed as (

    select
        company_id,
        name as company_name,
        lower(domain) as company_domain,
        industry,
        cast(number_of_employees as integer) as number_of_employees,
        upper(country) as country,
        cast(created_at as timestamp) as created_at,
        cast(updated_at as timestamp) as updated_at

    from source

)

select * from renamed
