{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ smarketing.delete_changed_leads() }}",
    )
}}
-- Incremental by day: the stage history of contacts that changed in the window is rebuilt whole.
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_visitors_identified') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}
with

lead_stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

    {% if smarketing.incremental_window() %}
    where contact_id in ({{ smarketing.changed_contact_ids() }})
    {% endif %}

),

with_exit as (

    -- A stage is left when the next stage the lead reached is entered.
    select
        *,
        lead(entered_at) over (partition by contact_id order by stage_order) as exited_at

    from lead_stages

),

final as (

    select
        cast(contact_id || ':' || stage as {{ dbt.type_string() }}) as lead_stage_id,
        cast(contact_id as {{ dbt.type_string() }}) as lead_id,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(stage_order as integer) as stage_order,
        cast(entered_at as timestamp) as entered_at,
        cast(exited_at as timestamp) as exited_at,
        cast(exited_at is null as boolean) as is_current,
        cast(is_entered_at_adjusted as boolean) as is_entered_at_adjusted

    from with_exit

)

select * from final
