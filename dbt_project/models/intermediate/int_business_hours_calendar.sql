{%- set a = smarketing.agreement() -%}
{%- set minutes_per_day = a['business_minutes_per_day'] -%}

with

date_spine as (

    {{ dbt.date_spine(
        datepart="day",
        start_date="cast('2024-01-01' as date)",
        end_date="cast('2028-01-01' as date)"
    ) }}

),

days as (

    select
        cast(date_day as date) as date_day,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week

    from date_spine

),

flagged as (

    select
        date_day,
        iso_day_of_week in ({{ a['business_days'] | join(', ') }})
        {%- if a['holidays'] %}
            and date_day not in (
                {%- for holiday in a['holidays'] %}cast('{{ holiday }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
            )
        {%- endif %} as is_business_day

    from days

),

final as (

    -- One row per calendar day of the business-hours time zone. Business minutes before the day opens
    -- are the sum of the open minutes of every earlier business day: a position on a clock that only
    -- runs during business hours, so a deadline of N business hours is position + N * 60.
    select
        date_day,
        is_business_day,
        {{ smarketing.add_seconds('cast(date_day as timestamp)', a['business_start_minute'] * 60) }} as opens_at_local,
        {{ smarketing.add_seconds('cast(date_day as timestamp)',
                                  (a['business_start_minute'] + minutes_per_day) * 60) }} as closes_at_local,
        case when is_business_day then {{ minutes_per_day }} else 0 end as business_minutes,
        coalesce(sum(case when is_business_day then {{ minutes_per_day }} else 0 end) over (
            order by date_day rows between unbounded preceding and 1 preceding
        ), 0) as business_minutes_before

    from flagged

)

select * from final
