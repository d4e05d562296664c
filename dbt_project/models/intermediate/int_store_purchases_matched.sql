with

purchases as (

    select * from {{ ref('stg_store__purchases') }}

),

loyalty_members as (

    select * from {{ ref('stg_store__loyalty_members') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

store_email_hashes as (

    -- The hashes the store holds: only the contacts with one of them are ranked below (about 21
    -- thousand e-mail hashes against a million contacts at scale 10; 1.9 s -> 0.8 s).
    select customer_email_sha256 as email_sha256 from purchases where customer_email_sha256 is not null
    union
    select email_sha256 from loyalty_members where email_sha256 is not null

),

store_phone_hashes as (

    select customer_phone_sha256 as phone_sha256 from purchases where customer_phone_sha256 is not null
    union
    select phone_sha256 from loyalty_members where phone_sha256 is not null

),

contact_per_email_hash as (

    -- Should the CRM hold duplicates, the oldest contact wins (same rule for phones).
    select email_sha256, contact_id
    from (
        select
            email_sha256,
            contact_id,
            row_number() over (partition by email_sha256 order by created_at, contact_id) as contact_rank
        from contacts
        where email_sha256 in (select email_sha256 from store_email_hashes)
    ) as ranked
    where contact_rank = 1

),

contact_per_phone_hash as (

    select phone_sha256, contact_id
    from (
        select
            phone_sha256,
            contact_id,
            row_number() over (partition by phone_sha256 order by created_at, contact_id) as contact_rank
        from contacts
        where phone_sha256 in (select phone_sha256 from store_phone_hashes)
    ) as ranked
    where contact_rank = 1

),

loyalty_contacts as (

    select
        loyalty_members.loyalty_id,
        coalesce(by_email.contact_id, by_phone.contact_id) as contact_id

    from loyalty_members

    left join contact_per_email_hash as by_email
        on loyalty_members.email_sha256 = by_email.email_sha256

    left join contact_per_phone_hash as by_phone
        on loyalty_members.phone_sha256 = by_phone.phone_sha256

),

matched as (

    -- Precedence: e-mail hash, then phone hash, then loyalty card; otherwise a walk-in.
    select
        purchases.*,
        case
            when by_email.contact_id is not null then by_email.contact_id
            when by_phone.contact_id is not null then by_phone.contact_id
            else by_loyalty.contact_id
        end as contact_id,
        case
            when by_email.contact_id is not null then 'email_hash'
            when by_phone.contact_id is not null then 'phone_hash'
            when by_loyalty.contact_id is not null then 'loyalty_id'
            else 'unmatched'
        end as match_method

    from purchases

    left join contact_per_email_hash as by_email
        on purchases.customer_email_sha256 = by_email.email_sha256

    left join contact_per_phone_hash as by_phone
        on purchases.customer_phone_sha256 = by_phone.phone_sha256

    left join loyalty_contacts as by_loyalty
        on purchases.loyalty_id = by_loyalty.loyalty_id

),

final as (

    select
        transaction_id,
        store_id,
        store_name,
        store_country,
        purchased_at,
        amount,
        currency_code,
        contact_id,
        match_method,
        contact_id is not null as is_matched

    from matched

)

select * from final
