with

sessions as (

    select * from {{ ref('stg_web__sessions') }}

),

form_submissions as (

    select * from {{ ref('stg_web__form_submissions') }}

),

visitors as (

    select * from {{ ref('int_visitors_identified') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

visits as (

    select
        visitors.contact_id,
        'visit' as engagement_type,
        sessions.session_id as engagement_id,
        sessions.session_started_at as engaged_at

    from sessions

    inner join visitors
        on sessions.anonymous_id = visitors.anonymous_id

),

submissions as (

    -- Every form a contact filled in, on any device: matched on the normalised e-mail.
    select
        contacts.contact_id,
        'form_submission' as engagement_type,
        form_submissions.submission_id as engagement_id,
        form_submissions.submitted_at as engaged_at

    from form_submissions

    inner join contacts
        on form_submissions.email_normalised = contacts.email_normalised

),

final as (

    select * from visits
    union all
    select * from submissions

)

select * from final
