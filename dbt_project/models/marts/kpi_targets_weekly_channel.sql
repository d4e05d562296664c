{#- The agreement's weekly MQL quota per channel (semantic model `weekly_channel_targets`, metrics
    channel_mql_quota and channel_mql_quota_attainment): one row per ISO week with leads x channel with
    a quota in agreement.yml (marketing_commitments.weekly_mql_quota.by_channel, dbt var 'agreement').
    The rest of the total quota is not tied to a channel: it is in kpi_targets_weekly.mql_quota. -#}
{%- set a = smarketing.agreement() -%}
{%- set quotas = a['weekly_mql_quota_by_channel'] -%}

with

lead_funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

weeks as (

    -- The weeks the agreement is judged on: every ISO week with at least one lead (kpi_agreement_weekly's).
    select distinct {{ smarketing.iso_week_start('lead_date') }} as week_start_date
    from lead_funnel
    where lead_date is not null

),

quotas as (

    {% for channel, quota in quotas.items() %}
    select
        cast('{{ channel | replace("'", "''") }}' as {{ dbt.type_string() }}) as channel,
        cast({{ quota }} as integer) as mql_quota
    {% if not loop.last %}union all{% endif %}
    {% else %}
    select cast(null as {{ dbt.type_string() }}) as channel, cast(null as integer) as mql_quota
    where 1 = 0
    {% endfor %}

),

final as (

    select
        cast({{ smarketing.surrogate_key(['weeks.week_start_date', 'quotas.channel']) }} as {{ dbt.type_string() }})
            as kpi_targets_weekly_channel_id,
        cast(weeks.week_start_date as date) as week_start_date,
        cast(quotas.channel as {{ dbt.type_string() }}) as channel,
        cast(quotas.mql_quota as integer) as mql_quota,
        cast('{{ a["version"] }}' as {{ dbt.type_string() }}) as agreement_version

    from weeks

    cross join quotas

)

select * from final
