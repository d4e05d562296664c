with

source as (

    select * from {{ source('web', 'form_submissions') }}

),

renamed as (

    select
        submission_id,
        session_id,
        anonymous_id,
        cast(submitted_at as timestamp) as submitted_at,
        form_name,
        page_url,
        nullif(lower(trim(email)), '') as email_normalised,
        nullif('+' || regexp_replace(phone, '[^0-9]', '', 'g'), '+') as phone_normalised,
        first_name,
        last_name,
        company_name,
        coalesce(consent_marketing, false) as has_marketing_consent

    from source

)

select * from renamed
