{%- set a = smarketing.agreement() -%}
{%- set quotas = a['weekly_mql_quota_by_channel'] -%}

with

leads as (

    select * from {{ ref('fct_leads') }}

),

weeks as (

    select distinct {{ smarketing.iso_week_start(smarketing.to_reporting_tz('lead_at')) }} as week_start_date
    from leads

),

mqls as (

    select
        {{ smarketing.iso_week_start(smarketing.to_reporting_tz('qualified_at')) }} as week_start_date,
        channel,
        count(*) as mqls

    from leads

    where is_mql

    group by 1, 2

),

handed as (

    -- Sales' commitments are judged in the week the lead was handed over; pending ones are not judged yet.
    select
        {{ smarketing.iso_week_start(smarketing.to_reporting_tz('mql_at')) }} as week_start_date,
        sum(case when first_contact_sla = 'met' then 1 else 0 end) as first_contact_met,
        sum(case when first_contact_sla in ('met', 'missed') then 1 else 0 end) as first_contact_judged,
        sum(case when follow_up_sla = 'met' then 1 else 0 end) as follow_up_met,
        sum(case when follow_up_sla in ('met', 'missed') then 1 else 0 end) as follow_up_judged,
        sum(case when decision_sla = 'met' then 1 else 0 end) as decision_met,
        sum(case when decision_sla in ('met', 'missed') then 1 else 0 end) as decision_judged

    from leads

    where is_handed_to_sales

    group by 1

),

commitments as (

    select
        weeks.week_start_date, 'marketing' as party, 'weekly_mql_quota' as commitment,
        'All channels' as channel,
        cast({{ a['weekly_mql_quota_total'] }} as double precision) as target,
        cast(coalesce(sum(mqls.mqls), 0) as double precision) as actual
    from weeks
    left join mqls on weeks.week_start_date = mqls.week_start_date
    group by weeks.week_start_date
    {%- for channel, quota in quotas.items() %}
    union all
    select
        weeks.week_start_date, 'marketing', 'weekly_mql_quota', '{{ channel }}',
        cast({{ quota }} as double precision),
        cast(coalesce(sum(mqls.mqls), 0) as double precision)
    from weeks
    left join mqls on weeks.week_start_date = mqls.week_start_date and mqls.channel = '{{ channel }}'
    group by weeks.week_start_date
    {%- endfor %}
    {%- for name in ['first_contact', 'follow_up', 'decision'] %}
    union all
    select
        weeks.week_start_date, 'sales', '{{ name }}_sla_share', 'All channels',
        cast(1.0 as double precision),
        cast(case when handed.{{ name }}_judged > 0 then 1.0 * handed.{{ name }}_met / handed.{{ name }}_judged end
             as double precision)
    from weeks
    left join handed on weeks.week_start_date = handed.week_start_date
    {%- endfor %}

),

final as (

    select
        cast({{ smarketing.surrogate_key(['week_start_date', 'commitment', 'channel']) }} as {{ dbt.type_string() }})
            as kpi_agreement_weekly_id,
        cast(week_start_date as date) as week_start_date,
        cast(party as {{ dbt.type_string() }}) as party,
        cast(commitment as {{ dbt.type_string() }}) as commitment,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(target as double precision) as target,
        cast(actual as double precision) as actual,
        cast(actual >= target as boolean) as is_met,
        cast('{{ a["version"] }}' as {{ dbt.type_string() }}) as agreement_version

    from commitments

)

select * from final
