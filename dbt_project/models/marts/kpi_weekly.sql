{#- The shared KPIs per ISO week x channel, the SQL twin of the semantic layer's metrics
    (models/semantic/_metrics.yml): tests/test_weekly_kpis.py (test_kpi_weekly_equals_mf_query) proves
    every column equal to `mf query --group-by metric_time__week,channel`. Ratios are null when the
    denominator is 0. The per-channel MQL quota comes from kpi_targets_weekly_channel (agreement.yml);
    the all-channel targets are in kpi_targets_weekly; the lead metrics by region in kpi_weekly_region. -#}
{%- set lead_stages = [
    ('leads', 'lead_date', '1'),
    ('mqls', 'mql_date', 'reached_mql'),
    ('sqls', 'sql_date', 'reached_sql'),
    ('opportunities', 'opportunity_date', 'reached_opportunity'),
    ('customers', 'customer_date', 'reached_customer'),
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
    ('cost_per_lead', 'spend_reporting', 'leads'),
    ('cost_per_mql', 'spend_reporting', 'mqls'),
    ('customer_acquisition_cost', 'spend_reporting', 'customers'),
    ('roas', 'revenue_reporting', 'spend_reporting'),
    ('average_deal_size', 'revenue_reporting', 'lead_sales'),
    ('sales_cycle_days', 'sales_cycle_days_total', 'customers'),
    ('follow_up_attempts_per_mql', 'follow_up_attempts', 'mqls'),
    ('online_to_offline_share', 'online_to_offline_customers', 'customers'),
    ('sla_compliance', 'first_contact_sla_met', 'first_contact_sla_judged'),
    ('follow_up_sla_compliance', 'follow_up_sla_met', 'follow_up_sla_judged'),
    ('decision_sla_compliance', 'decision_sla_met', 'decision_sla_judged'),
    ('mql_acceptance_rate', 'sales_accepted', 'sales_accepted + sales_rejected'),
    ('mql_rejection_rate', 'sales_rejected', 'sales_accepted + sales_rejected'),
    ('channel_mql_quota_attainment', 'qualified_mqls', 'channel_mql_quota'),
] -%}
{%- set counts = [
    'leads', 'mqls', 'sqls', 'opportunities', 'customers',
    'cohort_mqls', 'cohort_sqls', 'cohort_opportunities', 'cohort_customers',
    'lead_sales', 'follow_up_attempts', 'online_to_offline_customers', 'sales_cycle_days_total',
    'qualified_mqls', 'first_contact_sla_met', 'first_contact_sla_judged', 'follow_up_sla_met',
    'follow_up_sla_judged', 'decision_sla_met', 'decision_sla_judged', 'sales_accepted', 'sales_rejected',
] -%}
{%- set amounts = ['revenue_reporting', 'walk_in_revenue_reporting', 'spend_reporting'] -%}

with

lead_funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

sale_events as (

    select * from {{ ref('fct_sale_events') }}

),

ad_spend as (

    select * from {{ ref('fct_ad_spend_daily') }}

),

channel_targets as (

    select * from {{ ref('kpi_targets_weekly_channel') }}

),

lead_stage_counts as (

    -- Period counts: every stage entry in the ISO week (reporting time zone) in which it happened.
    {% for metric, date_column, flag in lead_stages %}
    select
        {{ smarketing.iso_week_start(date_column) }} as week_start_date,
        channel,
        '{{ metric }}' as metric,
        cast(sum({{ flag }}) as {{ dbt.type_numeric() }}) as metric_value
    from lead_funnel
    where {{ date_column }} is not null
    group by 1, 2
    union all
    {% endfor %}

    -- Cohort counts: the leads created in the week, followed to wherever they are now.
    {% for metric, flag in [('cohort_mqls', 'reached_mql'), ('cohort_sqls', 'reached_sql'), ('cohort_opportunities', 'reached_opportunity'), ('cohort_customers', 'reached_customer')] %}
    select
        {{ smarketing.iso_week_start('lead_date') }} as week_start_date,
        channel,
        '{{ metric }}' as metric,
        cast(sum({{ flag }}) as {{ dbt.type_numeric() }}) as metric_value
    from lead_funnel
    group by 1, 2
    union all
    {% endfor %}

    -- Sales' work on the week's MQLs: follow-ups, and the agreement's commitments judged by MQL week.
    {% for metric in ['follow_up_attempts', 'first_contact_sla_met', 'first_contact_sla_judged', 'follow_up_sla_met', 'follow_up_sla_judged', 'decision_sla_met', 'decision_sla_judged', 'sales_accepted', 'sales_rejected'] %}
    select
        {{ smarketing.iso_week_start('mql_date') }} as week_start_date,
        channel,
        '{{ metric }}' as metric,
        cast(sum({{ metric }}) as {{ dbt.type_numeric() }}) as metric_value
    from lead_funnel
    where mql_date is not null
    group by 1, 2
    union all
    {% endfor %}

    select
        {{ smarketing.iso_week_start('qualified_date') }} as week_start_date,
        channel,
        'qualified_mqls' as metric,
        cast(sum(is_agreement_mql) as {{ dbt.type_numeric() }}) as metric_value
    from lead_funnel
    where qualified_date is not null
    group by 1, 2

    union all

    {% for metric, column in [('sales_cycle_days_total', 'sales_cycle_days'), ('online_to_offline_customers', 'online_to_offline_customer')] %}
    select
        {{ smarketing.iso_week_start('customer_date') }} as week_start_date,
        channel,
        '{{ metric }}' as metric,
        cast(sum({{ column }}) as {{ dbt.type_numeric() }}) as metric_value
    from lead_funnel
    where customer_date is not null
    group by 1, 2
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

sale_amounts as (

    -- Revenue of a lead's sales goes to the lead's channel; walk-ins to Offline, kept apart.
    {% for metric, column in [('revenue_reporting', 'lead_revenue_reporting'), ('walk_in_revenue_reporting', 'walk_in_revenue_reporting'), ('lead_sales', 'is_lead_sale')] %}
    select
        {{ smarketing.iso_week_start('sold_date') }} as week_start_date,
        channel,
        '{{ metric }}' as metric,
        cast(sum({{ column }}) as {{ dbt.type_numeric() }}) as metric_value
    from sale_events
    group by 1, 2
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

spend_amounts as (

    -- Ad-platform dates are already calendar days (the account's own).
    select
        {{ smarketing.iso_week_start('date_day') }} as week_start_date,
        channel,
        'spend_reporting' as metric,
        cast(sum(spend_reporting) as {{ dbt.type_numeric() }}) as metric_value
    from ad_spend
    group by 1, 2

),

speed_to_lead as (

    -- Percentiles, never the mean: the MQLs of the week that sales contacted.
    select
        {{ smarketing.iso_week_start('mql_date') }} as week_start_date,
        channel,
        percentile_cont(0.5) within group (order by speed_to_lead_hours) as speed_to_lead_median_hours,
        percentile_cont(0.95) within group (order by speed_to_lead_hours) as speed_to_lead_p95_hours
    from lead_funnel
    where mql_date is not null
        and speed_to_lead_hours is not null
    group by 1, 2

),

channel_quotas as (

    -- The agreement's MQL quota of the channels that have one (null elsewhere: no per-channel commitment).
    select
        week_start_date,
        channel,
        cast(mql_quota as {{ dbt.type_numeric() }}) as channel_mql_quota
    from channel_targets

),

events as (

    select * from lead_stage_counts
    union all
    select * from sale_amounts
    union all
    select * from spend_amounts
    union all
    select week_start_date, channel, 'channel_mql_quota' as metric, channel_mql_quota as metric_value
    from channel_quotas

),

aggregated as (

    select
        week_start_date,
        channel,
        {% for metric in counts + amounts %}
        sum(case when metric = '{{ metric }}' then metric_value else 0 end) as {{ metric }},
        {% endfor %}
        sum(case when metric = 'channel_mql_quota' then metric_value end) as channel_mql_quota

    from events

    group by 1, 2

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

),

final as (

    select
        {{ smarketing.surrogate_key(['week_start_date', 'channel']) }} as kpi_weekly_id,
        cast(week_start_date as date) as week_start_date,
        {{ smarketing.iso_week_label('week_start_date') }} as iso_week,
        cast(channel as {{ dbt.type_string() }}) as channel,
        {% for metric in counts %}
        cast({{ metric }} as integer) as {{ metric }},
        {% endfor %}
        cast(revenue_reporting as decimal(18, 2)) as revenue_reporting,
        cast(walk_in_revenue_reporting as decimal(18, 2)) as walk_in_revenue_reporting,
        cast(spend_reporting as decimal(18, 2)) as spend_reporting,
        cast(channel_mql_quota as integer) as channel_mql_quota,
        cast('{{ var("reporting_currency") }}' as {{ dbt.type_string() }}) as reporting_currency,
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
