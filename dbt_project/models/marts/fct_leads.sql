with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

engagements as (

    select * from {{ ref('stg_crm__engagements') }}

),

lead_channels as (

    select * from {{ ref('int_leads_channel_assigned') }}

),

lead_stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

),

sales as (

    select * from {{ ref('int_sales_unioned') }}

),

qualification as (

    select * from {{ ref('int_leads_qualified') }}

),

sla as (

    select * from {{ ref('int_leads_sla_measured') }}

),

pii_salt as (

    select * from {{ ref('stg_pii__salt') }}

),

stage_timestamps as (

    select
        contact_id,
        max(case when stage = 'lead' then entered_at end) as lead_at,
        max(case when stage = 'mql' then entered_at end) as mql_at,
        max(case when stage = 'sql' then entered_at end) as sql_at,
        max(case when stage = 'opportunity' then entered_at end) as opportunity_at,
        max(case when stage = 'customer' then entered_at end) as customer_at,
        max(stage_order) as current_stage_order

    from lead_stages

    group by contact_id

),

first_sales as (

    select
        contact_id,
        sale_type as customer_via

    from (
        select
            contact_id,
            sale_type,
            row_number() over (partition by contact_id order by sold_at, sale_id) as sale_rank
        from sales
        where contact_id is not null
    ) as ranked

    where sale_rank = 1

),

sales_activity as (

    -- Every logged sales engagement counts as an activity; the first sales contact is the first
    -- OUTBOUND engagement, by any rep, at or after the MQL time.
    select
        engagements.contact_id,
        count(*) as sales_activity_count,
        min(
            case
                when engagements.direction = 'OUTBOUND'
                    and engagements.occurred_at >= stage_timestamps.mql_at
                    then engagements.occurred_at
            end
        ) as first_sales_contact_at

    from engagements

    left join stage_timestamps
        on engagements.contact_id = stage_timestamps.contact_id

    group by engagements.contact_id

),

joined as (

    select
        contacts.contact_id as lead_id,
        {{ smarketing.salted_hash('contacts.email_normalised', 'pii_salt.pii_salt') }} as email_hash,
        lead_channels.channel,
        lead_channels.channel_attribution,
        lead_channels.first_session_id,
        contacts.original_source,
        contacts.company_id,
        companies.industry as company_industry,
        case
            when companies.number_of_employees is null then 'unknown'
            when companies.number_of_employees <= 10 then '1-10'
            when companies.number_of_employees <= 50 then '11-50'
            when companies.number_of_employees <= 200 then '51-200'
            when companies.number_of_employees <= 1000 then '201-1000'
            else '1001+'
        end as company_size_band,
        companies.country as company_country,
        contacts.country,
        contacts.job_role,
        contacts.owner_id,
        contacts.lifecycle_stage as crm_lifecycle_stage,
        contacts.lead_status,
        contacts.created_at,
        stage_timestamps.lead_at,
        stage_timestamps.mql_at,
        stage_timestamps.sql_at,
        stage_timestamps.opportunity_at,
        stage_timestamps.customer_at,
        sales_activity.first_sales_contact_at,
        coalesce(sales_activity.sales_activity_count, 0) as sales_activity_count,
        case stage_timestamps.current_stage_order
            when 1 then 'lead'
            when 2 then 'mql'
            when 3 then 'sql'
            when 4 then 'opportunity'
            when 5 then 'customer'
        end as current_stage,
        stage_timestamps.customer_at is not null as is_customer,
        first_sales.customer_via,
        qualification.meets_icp_industry,
        qualification.meets_icp_company_size,
        qualification.meets_icp_country,
        qualification.meets_icp_job_role,
        qualification.fit_score,
        qualification.meets_fit_score,
        qualification.max_engagement_events as engagement_events,
        qualification.meets_engagement,
        qualification.has_valid_contact,
        qualification.has_company,
        qualification.has_consent,
        qualification.has_source,
        qualification.meets_required_fields,
        qualification.is_mql,
        qualification.qualified_at,
        sla.contact_id is not null as is_handed_to_sales,
        sla.first_contact_due_at,
        sla.first_contact_sla,
        sla.follow_up_attempts,
        sla.follow_up_due_at,
        sla.follow_up_sla,
        sla.sales_decision,
        sla.sales_decided_at,
        sla.decision_due_at,
        sla.decision_sla,
        sla.rejection_reason,
        sla.is_agreed_rejection_reason

    from contacts

    cross join pii_salt

    left join companies
        on contacts.company_id = companies.company_id

    left join lead_channels
        on contacts.contact_id = lead_channels.contact_id

    left join stage_timestamps
        on contacts.contact_id = stage_timestamps.contact_id

    left join sales_activity
        on contacts.contact_id = sales_activity.contact_id

    left join first_sales
        on contacts.contact_id = first_sales.contact_id

    left join qualification
        on contacts.contact_id = qualification.contact_id

    left join sla
        on contacts.contact_id = sla.contact_id

),

final as (

    select
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(email_hash as {{ dbt.type_string() }}) as email_hash,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(channel_attribution as {{ dbt.type_string() }}) as channel_attribution,
        cast(first_session_id as {{ dbt.type_string() }}) as first_session_id,
        cast(original_source as {{ dbt.type_string() }}) as original_source,
        cast(company_id as {{ dbt.type_string() }}) as company_id,
        cast(company_industry as {{ dbt.type_string() }}) as company_industry,
        cast(company_size_band as {{ dbt.type_string() }}) as company_size_band,
        cast(company_country as {{ dbt.type_string() }}) as company_country,
        cast(country as {{ dbt.type_string() }}) as country,
        cast(job_role as {{ dbt.type_string() }}) as job_role,
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(crm_lifecycle_stage as {{ dbt.type_string() }}) as crm_lifecycle_stage,
        cast(lead_status as {{ dbt.type_string() }}) as lead_status,
        cast(created_at as timestamp) as created_at,
        cast(lead_at as timestamp) as lead_at,
        cast(mql_at as timestamp) as mql_at,
        cast(sql_at as timestamp) as sql_at,
        cast(opportunity_at as timestamp) as opportunity_at,
        cast(customer_at as timestamp) as customer_at,
        cast(first_sales_contact_at as timestamp) as first_sales_contact_at,
        cast(sales_activity_count as integer) as sales_activity_count,
        cast(current_stage as {{ dbt.type_string() }}) as current_stage,
        cast(is_customer as boolean) as is_customer,
        cast(customer_via as {{ dbt.type_string() }}) as customer_via,
        cast(meets_icp_industry as boolean) as meets_icp_industry,
        cast(meets_icp_company_size as boolean) as meets_icp_company_size,
        cast(meets_icp_country as boolean) as meets_icp_country,
        cast(meets_icp_job_role as boolean) as meets_icp_job_role,
        cast(fit_score as decimal(5, 2)) as fit_score,
        cast(meets_fit_score as boolean) as meets_fit_score,
        cast(engagement_events as integer) as engagement_events,
        cast(meets_engagement as boolean) as meets_engagement,
        cast(has_valid_contact as boolean) as has_valid_contact,
        cast(has_company as boolean) as has_company,
        cast(has_consent as boolean) as has_consent,
        cast(has_source as boolean) as has_source,
        cast(meets_required_fields as boolean) as meets_required_fields,
        cast(is_mql as boolean) as is_mql,
        cast(qualified_at as timestamp) as qualified_at,
        cast(is_handed_to_sales as boolean) as is_handed_to_sales,
        cast(first_contact_due_at as timestamp) as first_contact_due_at,
        cast(first_contact_sla as {{ dbt.type_string() }}) as first_contact_sla,
        cast(follow_up_attempts as integer) as follow_up_attempts,
        cast(follow_up_due_at as timestamp) as follow_up_due_at,
        cast(follow_up_sla as {{ dbt.type_string() }}) as follow_up_sla,
        cast(sales_decision as {{ dbt.type_string() }}) as sales_decision,
        cast(sales_decided_at as timestamp) as sales_decided_at,
        cast(decision_due_at as timestamp) as decision_due_at,
        cast(decision_sla as {{ dbt.type_string() }}) as decision_sla,
        cast(rejection_reason as {{ dbt.type_string() }}) as rejection_reason,
        cast(is_agreed_rejection_reason as boolean) as is_agreed_rejection_reason,
        cast('{{ smarketing.agreement()["version"] }}' as {{ dbt.type_string() }}) as agreement_version

    from joined

)

select * from final
