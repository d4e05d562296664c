{%- set a = smarketing.agreement() -%}
{%- set minutes_per_day = a['business_minutes_per_day'] -%}
{#- The calendar spans the CRM's data, not fixed years: from a margin before the earliest moment a lead
    can be handed to sales (created, became a lead, became an MQL) to a horizon after the latest, so that
    every deadline counted from it falls inside. The margin covers the shift to the business time zone;
    the horizon covers a deadline of N business hours (holidays included) and pending leads. At most
    `business_calendar_max_days` days (100 years) are generated. -#}
{%- set margin_days = var('business_calendar_margin_days', 7) -%}
{%- set horizon_days = var('business_calendar_horizon_days', 366) -%}
{%- set max_days = var('business_calendar_max_days', 36600) -%}

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

lead_times as (

    select created_at as event_at from contacts
    union all
    select became_lead_at as event_at from contacts
    union all
    select became_mql_at as event_at from contacts

),

bounds as (

    -- No contacts: no bounds, and an empty calendar (nothing to measure).
    select
        cast({{ dbt.dateadd('day', -1 * margin_days, 'min(event_at)') }} as date) as first_day,
        cast({{ dbt.dateadd('day', horizon_days, 'max(event_at)') }} as date) as last_day

    from lead_times

),

day_numbers as (

    {{ dbt.generate_series(max_days) }}

),

days as (

    select cast({{ dbt.dateadd('day', 'offsets.day_offset', 'bounds.first_day') }} as date) as date_day

    from bounds

    cross join (

        select cast(generated_number as integer) - 1 as day_offset from day_numbers

    ) as offsets

    where offsets.day_offset <= {{ dbt.datediff('bounds.first_day', 'bounds.last_day', 'day') }}

),

weekdays as (

    select
        date_day,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week

    from days

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

    from weekdays

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
