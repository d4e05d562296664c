{#- The agreement's weekly targets, all channels (semantic model `weekly_targets`, the *_target and
    mql_quota metrics): one row per ISO week with leads.
    - mql_quota: marketing_commitments.weekly_mql_quota.total.
    - The reverse funnel: revenue_target = revenue_goal.amount / 52; customers_target = revenue_target /
      average_deal_size; each earlier stage's target = the next stage's target / the all-channel period
      conversion between the two over the 12 complete weeks before the week (kpi_weekly), e.g.
      opportunities_target = customers_target / (customers / opportunities). A stage (and every stage
      before it) has no target when either count of that step is 0 in the window. -#}
{%- set a = smarketing.agreement() -%}
{%- set trailing_weeks = 12 -%}
{%- set stages = ['leads', 'mqls', 'sqls', 'opportunities', 'customers'] -%}
{%- set targets = {'customers': 'customers_target'} -%}
{%- for i in range(stages | length - 2, -1, -1) -%}
    {%- set upper, lower = stages[i], stages[i + 1] -%}
    {%- do targets.update({upper: '(' ~ targets[lower] ~ ' / nullif(trailing_' ~ lower ~ ' / nullif(trailing_' ~ upper ~ ', 0), 0))'}) -%}
{%- endfor %}

with

lead_funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

kpi_weekly as (

    select * from {{ ref('kpi_weekly') }}

),

weeks as (

    -- The weeks the agreement is judged on: every ISO week with at least one lead (kpi_agreement_weekly's).
    select distinct {{ smarketing.iso_week_start('lead_date') }} as week_start_date
    from lead_funnel
    where lead_date is not null

),

weekly_stages as (

    -- Period counts, all channels.
    select
        week_start_date,
        {% for stage in stages %}
        sum({{ stage }}) as {{ stage }}{{ "," if not loop.last }}
        {% endfor %}
    from kpi_weekly
    group by week_start_date

),

trailing_window as (

    -- The {{ trailing_weeks }} complete weeks before each week (the week itself excluded).
    select
        weeks.week_start_date,
        {% for stage in stages %}
        cast(sum(weekly_stages.{{ stage }}) as double precision) as trailing_{{ stage }}{{ "," if not loop.last }}
        {% endfor %}

    from weeks

    left join weekly_stages
        on weekly_stages.week_start_date >= {{ dbt.dateadd('day', -7 * trailing_weeks, 'weeks.week_start_date') }}
        and weekly_stages.week_start_date < weeks.week_start_date

    group by weeks.week_start_date

),

goals as (

    select
        trailing_window.*,
        cast({{ a['weekly_mql_quota_total'] }} as integer) as mql_quota,
        cast({{ a['revenue_goal'] }} as double precision) / 52 as revenue_target,
        cast({{ a['revenue_goal'] }} as double precision) / 52
            / cast({{ a['average_deal_size'] }} as double precision) as customers_target

    from trailing_window

),

final as (

    select
        cast(week_start_date as date) as week_start_date,
        {{ smarketing.iso_week_label('week_start_date') }} as iso_week,
        cast(mql_quota as integer) as mql_quota,
        cast(revenue_target as double precision) as revenue_target,
        {% for stage in stages | reverse %}
        cast({{ targets[stage] }} as double precision) as {{ stage }}_target,
        {% endfor %}
        {% for stage in stages %}
        cast(trailing_{{ stage }} as double precision) as trailing_{{ stage }},
        {% endfor %}
        cast('{{ var("reporting_currency") }}' as {{ dbt.type_string() }}) as reporting_currency,
        cast('{{ a["version"] }}' as {{ dbt.type_string() }}) as agreement_version

    from goals

)

select * from final
