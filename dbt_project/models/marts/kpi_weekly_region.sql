{#- The shared KPIs of the lead funnel per ISO week x channel x region (dim_country: the lead's country's
    sales territory), the SQL twin of `mf query --group-by metric_time__week,channel,lead_country__region`
    for every metric whose measures are all in the semantic model lead_funnel; tests/test_weekly_kpis.py
    (test_kpi_weekly_region_equals_mf_query) proves every column equal. Spend has no region (ad platforms
    report by account, not by the lead's country) and revenue is on the sale, so cost, ROAS and revenue
    stay in kpi_weekly. Ratios are null when the denominator is 0. -#}
{%- set lead_stages = [
    ('leads', 'lead_date', '1'),
    ('mqls', 'mql_date', 'reached_mql'),
    ('sqls', 'sql_date', 'reached_sql'),
    ('opportunities', 'opportunity_date', 'reached_opportunity'),
    ('customers', 'customer_date', 'reached_customer'),
] -%}
{%- set cohort_stages = [
    ('cohort_mqls', 'reached_mql'), ('cohort_sqls', 'reached_sql'),
    ('cohort_opportunities', 'reached_opportunity'), ('cohort_customers', 'reached_customer'),
] -%}
{%- set by_mql_date = [
    'follow_up_attempts', 'first_contact_sla_met', 'first_contact_sla_judged', 'follow_up_sla_met',
    'follow_up_sla_judged', 'decision_sla_met', 'decision_sla_judged', 'sales_accepted', 'sales_rejected',
] -%}
{%- set by_customer_date = [
    ('sales_cycle_days_total', 'sales_cycle_days'), ('online_to_offline_customers', 'online_to_offline_customer'),
] -%}
{%- set ratios = [
    ('lead_to_mql_rate_period', 'mqls', 'leads'),
    ('mql_to_sql_rate_period', 'sqls', 'mqls'),
    ('sql_to_opportunity_rate_period', 'opportunities', 'sqls'),
    ('opportunity_to_customer_rate_period', 'customers', 'opportunities'),
    ('lead_to_sale_rate_period', 'customers', 'leads'),
    ('lead_to_mql_rate_cohort', 'cohort_mqls', 'leads'),
    ('mql_to_sql_rate_cohort', 'cohort_sqls', 'cohort_mqls'),
    ('sql_to_opportunity_rate_cohort', 'cohort_opportunities', 'cohort_sqls'),
    ('opportunity_to_customer_rate_cohort', 'cohort_customers', 'cohort_opportunities'),
    ('lead_to_sale_rate_cohort', 'cohort_customers', 'leads'),
    ('sales_cycle_days', 'sales_cycle_days_total', 'customers'),
    ('follow_up_attempts_per_mql', 'follow_up_attempts', 'mqls'),
    ('online_to_offline_share', 'online_to_offline_customers', 'customers'),
    ('sla_compliance', 'first_contact_sla_met', 'first_contact_sla_judged'),
    ('follow_up_sla_compliance', 'follow_up_sla_met', 'follow_up_sla_judged'),
    ('decision_sla_compliance', 'decision_sla_met', 'decision_sla_judged'),
    ('mql_acceptance_rate', 'sales_accepted', 'sales_accepted + sales_rejected'),
    ('mql_rejection_rate', 'sales_rejected', 'sales_accepted + sales_rejected'),
] -%}
{%- set counts = [
    'leads', 'mqls', 'sqls', 'opportunities', 'customers',
    'cohort_mqls', 'cohort_sqls', 'cohort_opportunities', 'cohort_customers',
    'follow_up_attempts', 'online_to_offline_customers', 'sales_cycle_days_total',
    'qualified_mqls', 'first_contact_sla_met', 'first_contact_sla_judged', 'follow_up_sla_met',
    'follow_up_sla_judged', 'decision_sla_met', 'decision_sla_judged', 'sales_accepted', 'sales_rejected',
] -%}

with

lead_funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

countries as (

    select * from {{ ref('dim_country') }}

),

leads as (

    select
        lead_funnel.*,
        countries.region

    from lead_funnel

    inner join countries
        on lead_funnel.country = countries.country

),

events as (

    -- Period counts: every stage entry in the ISO week (reporting time zone) in which it happened.
    {% for metric, date_column, flag in lead_stages %}
    select
        {{ smarketing.iso_week_start(date_column) }} as week_start_date,
        channel,
        region,
        '{{ metric }}' as metric,
        cast(sum({{ flag }}) as {{ dbt.type_numeric() }}) as metric_value
    from leads
    where {{ date_column }} is not null
    group by 1, 2, 3
    union all
    {% endfor %}

    -- Cohort counts: the leads created in the week, followed to wherever they are now.
    {% for metric, flag in cohort_stages %}
    select
        {{ smarketing.iso_week_start('lead_date') }} as week_start_date,
        channel,
        region,
        '{{ metric }}' as metric,
        cast(sum({{ flag }}) as {{ dbt.type_numeric() }}) as metric_value
    from leads
    group by 1, 2, 3
    union all
    {% endfor %}

    -- Sales' work on the week's MQLs: follow-ups, and the agreement's commitments judged by MQL week.
    {% for metric in by_mql_date %}
    select
        {{ smarketing.iso_week_start('mql_date') }} as week_start_date,
        channel,
        region,
        '{{ metric }}' as metric,
        cast(sum({{ metric }}) as {{ dbt.type_numeric() }}) as metric_value
    from leads
    where mql_date is not null
    group by 1, 2, 3
    union all
    {% endfor %}

    select
        {{ smarketing.iso_week_start('qualified_date') }} as week_start_date,
        channel,
        region,
        'qualified_mqls' as metric,
        cast(sum(is_agreement_mql) as {{ dbt.type_numeric() }}) as metric_value
    from leads
    where qualified_date is not null
    group by 1, 2, 3

    {% for metric, column in by_customer_date %}
    union all
    select
        {{ smarketing.iso_week_start('customer_date') }} as week_start_date,
        channel,
        region,
        '{{ metric }}' as metric,
        cast(sum({{ column }}) as {{ dbt.type_numeric() }}) as metric_value
    from leads
    where customer_date is not null
    group by 1, 2, 3
    {% endfor %}

),

speed_to_lead as (

    -- Percentiles, never the mean: the MQLs of the week that sales contacted.
    select
        {{ smarketing.iso_week_start('mql_date') }} as week_start_date,
        channel,
        region,
        percentile_cont(0.5) within group (order by speed_to_lead_hours) as speed_to_lead_median_hours,
        percentile_cont(0.95) within group (order by speed_to_lead_hours) as speed_to_lead_p95_hours
    from leads
    where mql_date is not null
        and speed_to_lead_hours is not null
    group by 1, 2, 3

),

aggregated as (

    select
        week_start_date,
        channel,
        region,
        {% for metric in counts %}
        sum(case when metric = '{{ metric }}' then metric_value else 0 end) as {{ metric }}{{ "," if not loop.last }}
        {% endfor %}

    from events

    group by 1, 2, 3

),

with_percentiles as (

    select
        aggregated.*,
        speed_to_lead.speed_to_lead_median_hours,
        speed_to_lead.speed_to_lead_p95_hours

    from aggregated

    left join speed_to_lead
        on aggregated.week_start_date = speed_to_lead.week_start_date
        and aggregated.channel = speed_to_lead.channel
        and aggregated.region = speed_to_lead.region

),

final as (

    select
        cast({{ smarketing.surrogate_key(['week_start_date', 'channel', 'region']) }} as {{ dbt.type_string() }})
            as kpi_weekly_region_id,
        cast(week_start_date as date) as week_start_date,
        {{ smarketing.iso_week_label('week_start_date') }} as iso_week,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(region as {{ dbt.type_string() }}) as region,
        {% for metric in counts %}
        cast({{ metric }} as integer) as {{ metric }},
        {% endfor %}
        {% for name, numerator, denominator in ratios %}
        cast(
            cast({{ numerator }} as double precision) / nullif(cast(({{ denominator }}) as double precision), 0)
            as double precision
        ) as {{ name }},
        {% endfor %}
        cast(speed_to_lead_median_hours as double precision) as speed_to_lead_median_hours,
        cast(speed_to_lead_p95_hours as double precision) as speed_to_lead_p95_hours

    from with_percentiles

)

select * from final
