with

date_spine as (

    {{ dbt.date_spine(
        datepart="day",
        start_date="cast('2024-01-01' as date)",
        end_date="cast('2028-01-01' as date)"
    ) }}

),

final as (

    select
        cast(date_day as date) as date_day,
        {{ smarketing.iso_week_start('date_day') }} as iso_week_start_date,
        cast(extract(isoyear from date_day) as integer) as iso_year,
        cast(extract(week from date_day) as integer) as iso_week_number,
        cast(extract(year from date_day) as integer) as calendar_year,
        cast(extract(month from date_day) as integer) as month_number,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start_date,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week,
        extract(isodow from date_day) in (6, 7) as is_weekend

    from date_spine

)

select * from final
