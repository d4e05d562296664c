with

source as (

    select * from {{ source('crm', 'contacts') }}

),

renamed as (

    select
        contact_id,
        nullif(lower(trim(email)), '') as email_normalised,
        -- E.164-like: '+' followed by the digits only
        nullif('+' || regexp_replace(phone, '[^0-9]', '', 'g'), '+') as phone_normalised,
        first_name,
        last_name,
        company_id,
        job_title,
        lower(job_role) as job_role,
        upper(country) as country,
        upper(original_source) as original_source,
        owner_id,
        lower(lifecycle_stage) as lifecycle_stage,
        cast(created_at as timestamp) as created_at,
        cast(became_lead_at as timestamp) as became_lead_at,
        cast(became_mql_at as timestamp) as became_mql_at,
        cast(became_sql_at as timestamp) as became_sql_at,
        cast(became_opportunity_at as timestamp) as became_opportunity_at,
        cast(became_customer_at as timestamp) as became_customer_at,
        upper(lead_status) as lead_status,
        cast(updated_at as timestamp) as updated_at,
        cast(disqualified_at as timestamp) as disqualified_at,
        nullif(trim(disqualification_reason), '') as disqualification_reason

    from source

),

hashed as (

    select
        *,
        {{ smarketing.sha256_hex('email_normalised') }} as email_sha256,
        {{ smarketing.sha256_hex('phone_normalised') }} as phone_sha256

    from renamed

)

select * from hashed
