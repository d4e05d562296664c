-- Shown in Dagster as a check on fct_lead_stage_history.
{{ config(meta={'dagster': {'ref': {'name': 'fct_lead_stage_history'}}}) }}
-- A later funnel stage is never entered before an earlier one, in the stage history and in fct_leads.

with

history as (

    select * from {{ ref('fct_lead_stage_history') }}

),

leads as (

    select * from {{ ref('fct_leads') }}

),

history_out_of_order as (

    select
        lead_id,
        stage as problem

    from (
        select
            lead_id,
            stage,
            entered_at,
            exited_at,
            lag(entered_at) over (partition by lead_id order by stage_order) as previous_entered_at
        from history
    ) as with_previous

    where entered_at < previous_entered_at
        or exited_at < entered_at

),

{%- set stages = ['lead_at', 'mql_at', 'sql_at', 'opportunity_at', 'customer_at'] %}

leads_out_of_order as (

    select
        lead_id,
        'fct_leads' as problem

    from leads

    where false
    {%- for earlier in stages %}
        {%- for later in stages[loop.index:] %}
        or {{ later }} < {{ earlier }}
        {%- endfor %}
    {%- endfor %}

),

final as (

    select * from history_out_of_order
    union all
    select * from leads_out_of_order

)

select * from final
