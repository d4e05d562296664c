with

form_submissions as (

    select * from {{ ref('stg_web__form_submissions') }}

),

visitors as (

    select * from {{ ref('int_visitors_identified') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

merges as (

    select * from {{ ref('int_contact_merges_resolved') }}

),

deals as (

    select * from {{ ref('stg_crm__deals') }}

),

purchases as (

    select * from {{ ref('int_store_purchases_matched') }}

),

final as (

    -- One row: every identity link of docs/conventions.md with its match rate (shown in Dagster).
    select
        cast((select count(distinct anonymous_id) from form_submissions) as bigint) as submitting_visitors,
        cast((select count(*) from visitors) as bigint) as visitors_identified,
        cast(
            (select count(*) from visitors) * 1.0
            / nullif((select count(distinct anonymous_id) from form_submissions), 0)
            as double precision
        ) as visitor_to_lead_rate,
        cast((select count(*) from visitors where match_method = 'merged_contact_email') as bigint)
            as visitors_identified_via_merged_contact,
        cast((select count(*) from merges) as bigint) as merged_contacts_followed,
        cast(
            (select count(*) from contacts where company_id in (select company_id from companies)) * 1.0
            / nullif((select count(*) from contacts), 0)
            as double precision
        ) as lead_to_company_rate,
        cast(
            (select count(*) from deals where contact_id in (select contact_id from contacts)) * 1.0
            / nullif((select count(*) from deals), 0)
            as double precision
        ) as deal_to_contact_rate,
        cast(
            (select count(*) from purchases where is_matched) * 1.0 / nullif((select count(*) from purchases), 0)
            as double precision
        ) as store_purchase_match_rate,
        cast((select count(*) from purchases where match_method = 'email_hash') as bigint) as store_matched_by_mail_hash,
        cast((select count(*) from purchases where match_method = 'phone_hash') as bigint) as store_matched_by_tel_hash,
        cast((select count(*) from purchases where match_method = 'loyalty_id') as bigint) as store_matched_by_loyalty_id,
        cast((select count(*) from purchases where not is_matched) as bigint) as store_walk_ins

)

select * from final
