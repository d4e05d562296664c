with

form_submissions as (

    select * from {{ ref('stg_web__form_submissions') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

merged_contacts as (

    select * from {{ ref('int_contact_merges_resolved') }}

),

contact_per_email as (

    -- Should the CRM hold duplicates of an e-mail, the oldest contact wins.
    select
        email_normalised,
        contact_id

    from (
        select
            email_normalised,
            contact_id,
            row_number() over (
                partition by email_normalised
                order by created_at, contact_id
            ) as contact_rank

        from contacts

        where email_normalised is not null
    ) as ranked

    where contact_rank = 1

),

survivor_per_merged_email as (

    -- E-mails of archived duplicates lead to the contact they were merged into (the survivor), unless
    -- a live contact holds that e-mail.
    select
        email_normalised,
        min(survivor_contact_id) as contact_id

    from merged_contacts

    where email_normalised is not null
        and not exists (
            select 1 from contact_per_email where contact_per_email.email_normalised = merged_contacts.email_normalised
        )

    group by email_normalised

),

contact_per_known_email as (

    select email_normalised, contact_id, 'contact_email' as match_method from contact_per_email
    union all
    select email_normalised, contact_id, 'merged_contact_email' as match_method from survivor_per_merged_email

),

submissions_matched as (

    select
        form_submissions.anonymous_id,
        form_submissions.submission_id,
        form_submissions.session_id,
        form_submissions.submitted_at,
        contact_per_known_email.contact_id,
        contact_per_known_email.match_method,
        row_number() over (
            partition by form_submissions.anonymous_id
            order by form_submissions.submitted_at, form_submissions.submission_id
        ) as submission_rank

    from form_submissions

    inner join contact_per_known_email
        on form_submissions.email_normalised = contact_per_known_email.email_normalised

    where form_submissions.anonymous_id is not null

),

final as (

    -- One contact per visitor: the one of its first matching form submission (a shared device
    -- that later submits another e-mail stays with the first person).
    select
        anonymous_id,
        contact_id,
        submission_id as first_submission_id,
        session_id as first_submission_session_id,
        submitted_at as identified_at,
        match_method

    from submissions_matched

    where submission_rank = 1

)

select * from final
