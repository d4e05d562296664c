-- Shown in Dagster as a check on kpi_weekly.
{{ config(meta={'dagster': {'ref': {'name': 'kpi_weekly'}}}) }}
-- kpi_weekly adds up to the facts: every lead, MQL, SQL, opportunity and customer of fct_leads is
-- counted once, all revenue of fct_lead_to_sale (leads' sales in revenue_reporting, walk-ins in
-- walk_in_revenue_reporting) and all spend of fct_ad_spend_daily is there.

with

kpi as (

    select
        sum(leads) as leads,
        sum(mqls) as mqls,
        sum(sqls) as sqls,
        sum(opportunities) as opportunities,
        sum(customers) as customers,
        sum(revenue_reporting) as revenue_reporting,
        sum(walk_in_revenue_reporting) as walk_in_revenue_reporting,
        sum(spend_reporting) as spend_reporting

    from {{ ref('kpi_weekly') }}

),

leads as (

    select
        count(lead_at) as leads,
        count(mql_at) as mqls,
        count(sql_at) as sqls,
        count(opportunity_at) as opportunities,
        count(customer_at) as customers

    from {{ ref('fct_leads') }}

),

sales as (

    select
        sum(case when lead_id is not null then amount_reporting end) as revenue_reporting,
        sum(case when lead_id is null then amount_reporting end) as walk_in_revenue_reporting,
        sum(amount_reporting) as total_revenue_reporting

    from {{ ref('fct_lead_to_sale') }}

),

spend as (

    select sum(spend_reporting) as spend_reporting

    from {{ ref('fct_ad_spend_daily') }}

),

final as (

    select
        kpi.*,
        leads.leads as fact_leads,
        leads.customers as fact_customers,
        sales.revenue_reporting as fact_revenue_reporting,
        sales.walk_in_revenue_reporting as fact_walk_in_revenue_reporting,
        spend.spend_reporting as fact_spend_reporting

    from kpi
    cross join leads
    cross join sales
    cross join spend

    where coalesce(kpi.leads, 0) <> leads.leads
        or coalesce(kpi.mqls, 0) <> leads.mqls
        or coalesce(kpi.sqls, 0) <> leads.sqls
        or coalesce(kpi.opportunities, 0) <> leads.opportunities
        or coalesce(kpi.customers, 0) <> leads.customers
        or coalesce(kpi.revenue_reporting, 0) <> coalesce(sales.revenue_reporting, 0)
        or coalesce(kpi.walk_in_revenue_reporting, 0) <> coalesce(sales.walk_in_revenue_reporting, 0)
        or coalesce(kpi.revenue_reporting, 0) + coalesce(kpi.walk_in_revenue_reporting, 0)
            <> coalesce(sales.total_revenue_reporting, 0)
        -- weekly spend is rounded to cents per week and channel
        or abs(coalesce(kpi.spend_reporting, 0) - coalesce(spend.spend_reporting, 0)) > 0.01 * (select count(*) from {{ ref('kpi_weekly') }})

)

select * from final
