{#- The lead-grain inputs of the shared KPIs (semantic model `lead_funnel`): every funnel date in the
    reporting time zone, so a metric's week is the ISO week the business saw. -#}
with

leads as (

    select * from {{ ref('fct_leads') }}

),

engagements as (

    select * from {{ ref('stg_crm__engagements') }}

),

follow_ups as (

    -- Sales follow-up attempts: outbound engagements by sales at or after the MQL time.
    select
        engagements.contact_id,
        count(*) as follow_up_attempts

    from engagements

    inner join leads
        on engagements.contact_id = leads.lead_id

    where engagements.direction = 'OUTBOUND'
        and leads.mql_at is not null
        and engagements.occurred_at >= leads.mql_at

    group by engagements.contact_id

),

joined as (

    select
        leads.lead_id,
        leads.channel,
        coalesce(leads.country, 'unknown') as country,
        cast({{ smarketing.to_reporting_tz('leads.lead_at') }} as date) as lead_date,
        cast({{ smarketing.to_reporting_tz('leads.mql_at') }} as date) as mql_date,
        cast({{ smarketing.to_reporting_tz('leads.sql_at') }} as date) as sql_date,
        cast({{ smarketing.to_reporting_tz('leads.opportunity_at') }} as date) as opportunity_date,
        cast({{ smarketing.to_reporting_tz('leads.customer_at') }} as date) as customer_date,
        case when leads.mql_at is not null then 1 else 0 end as reached_mql,
        case when leads.sql_at is not null then 1 else 0 end as reached_sql,
        case when leads.opportunity_at is not null then 1 else 0 end as reached_opportunity,
        case when leads.customer_at is not null then 1 else 0 end as reached_customer,
        case
            when leads.mql_at is not null and leads.first_sales_contact_at is not null
                then {{ dbt.datediff('leads.mql_at', 'leads.first_sales_contact_at', 'second') }} / 3600.0
        end as speed_to_lead_hours,
        case when leads.mql_at is not null then coalesce(follow_ups.follow_up_attempts, 0) end
            as follow_up_attempts,
        case
            when leads.customer_at is not null
                then {{ dbt.datediff('leads.lead_at', 'leads.customer_at', 'day') }}
        end as sales_cycle_days,
        case
            when leads.customer_at is not null
                and leads.first_session_id is not null
                and leads.customer_via = 'in_store'
                then 1
            else 0
        end as online_to_offline_customer,
        -- The agreement (agreement.yml, issue 5's columns of fct_leads): MQLs by its criteria, and sales'
        -- commitments judged in the week the lead was handed over (pending ones are not judged yet).
        cast({{ smarketing.to_reporting_tz('leads.qualified_at') }} as date) as qualified_date,
        case when leads.is_mql then 1 else 0 end as is_agreement_mql,
        case when leads.is_handed_to_sales then 1 else 0 end as is_handed_to_sales,
        {% for sla in ['first_contact', 'follow_up', 'decision'] %}
        case when leads.{{ sla }}_sla = 'met' then 1 else 0 end as {{ sla }}_sla_met,
        case when leads.{{ sla }}_sla in ('met', 'missed') then 1 else 0 end as {{ sla }}_sla_judged,
        {% endfor %}
        case when leads.sales_decision = 'accepted' then 1 else 0 end as sales_accepted,
        case when leads.sales_decision = 'rejected' then 1 else 0 end as sales_rejected

    from leads

    left join follow_ups
        on leads.lead_id = follow_ups.contact_id

),

final as (

    select
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(country as {{ dbt.type_string() }}) as country,
        cast(lead_date as date) as lead_date,
        cast(mql_date as date) as mql_date,
        cast(sql_date as date) as sql_date,
        cast(opportunity_date as date) as opportunity_date,
        cast(customer_date as date) as customer_date,
        cast(reached_mql as integer) as reached_mql,
        cast(reached_sql as integer) as reached_sql,
        cast(reached_opportunity as integer) as reached_opportunity,
        cast(reached_customer as integer) as reached_customer,
        cast(speed_to_lead_hours as double precision) as speed_to_lead_hours,
        cast(follow_up_attempts as integer) as follow_up_attempts,
        cast(sales_cycle_days as integer) as sales_cycle_days,
        cast(online_to_offline_customer as integer) as online_to_offline_customer,
        cast(qualified_date as date) as qualified_date,
        cast(is_agreement_mql as integer) as is_agreement_mql,
        cast(is_handed_to_sales as integer) as is_handed_to_sales,
        {% for sla in ['first_contact', 'follow_up', 'decision'] %}
        cast({{ sla }}_sla_met as integer) as {{ sla }}_sla_met,
        cast({{ sla }}_sla_judged as integer) as {{ sla }}_sla_judged,
        {% endfor %}
        cast(sales_accepted as integer) as sales_accepted,
        cast(sales_rejected as integer) as sales_rejected

    from joined

)

select * from final
