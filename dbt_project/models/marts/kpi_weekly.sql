{%- set stage_columns = [
    ('leads', 'lead_at'),
    ('mqls', 'mql_at'),
    ('sqls', 'sql_at'),
    ('opportunities', 'opportunity_at'),
    ('customers', 'customer_at'),
] -%}

with

leads as (

    select * from {{ ref('fct_leads') }}

),

sales as (

    select * from {{ ref('fct_lead_to_sale') }}

),

ad_spend as (

    select * from {{ ref('fct_ad_spend_daily') }}

),

stage_events as (

    -- Period counts: every event in the ISO week (reporting time zone) in which it happened.
    {% for metric, column in stage_columns %}
    select
        {{ smarketing.iso_week_start(smarketing.to_reporting_tz(column)) }} as week_start_date,
        channel,
        '{{ metric }}' as metric,
        cast(1 as {{ dbt.type_numeric() }}) as metric_value
    from leads
    where {{ column }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

revenue_events as (

    -- Revenue of a lead's sales goes to the lead's channel; sales without a lead (store walk-ins)
    -- are kept apart, as walk-in revenue of the Offline channel.
    select
        {{ smarketing.iso_week_start(smarketing.to_reporting_tz('sold_at')) }} as week_start_date,
        coalesce(lead_channel, 'Offline') as channel,
        case
            when lead_id is null then 'walk_in_revenue_reporting'
            else 'revenue_reporting'
        end as metric,
        cast(amount_reporting as {{ dbt.type_numeric() }}) as metric_value

    from sales

),

spend_events as (

    -- Ad-platform dates are already calendar days (the account's own); Google is Paid Search,
    -- Meta and LinkedIn are Paid Social.
    select
        {{ smarketing.iso_week_start('date_day') }} as week_start_date,
        channel,
        'spend_reporting' as metric,
        cast(spend_reporting as {{ dbt.type_numeric() }}) as metric_value

    from ad_spend

),

events as (

    select * from stage_events
    union all
    select * from revenue_events
    union all
    select * from spend_events

),

aggregated as (

    select
        week_start_date,
        channel,
        {% for metric, column in stage_columns %}
        sum(case when metric = '{{ metric }}' then metric_value else 0 end) as {{ metric }},
        {% endfor %}
        sum(case when metric = 'revenue_reporting' then metric_value else 0 end) as revenue_reporting,
        sum(case when metric = 'walk_in_revenue_reporting' then metric_value else 0 end) as walk_in_revenue_reporting,
        sum(case when metric = 'spend_reporting' then metric_value else 0 end) as spend_reporting

    from events

    group by 1, 2

),

final as (

    select
        {{ smarketing.surrogate_key(['week_start_date', 'channel']) }} as kpi_weekly_id,
        cast(week_start_date as date) as week_start_date,
        cast(channel as {{ dbt.type_string() }}) as channel,
        {% for metric, column in stage_columns %}
        cast({{ metric }} as integer) as {{ metric }},
        {% endfor %}
        cast(revenue_reporting as decimal(18, 2)) as revenue_reporting,
        cast(walk_in_revenue_reporting as decimal(18, 2)) as walk_in_revenue_reporting,
        cast(spend_reporting as decimal(18, 2)) as spend_reporting,
        cast('{{ var("reporting_currency") }}' as {{ dbt.type_string() }}) as reporting_currency,
        cast(
            case
                when leads = 0 then null
                else cast(customers as double precision) / leads
            end
            as double precision
        ) as lead_to_sale_rate_period

    from aggregated

)

select * from final
