{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ smarketing.delete_changed_leads() }}",
    )
}}
-- Incremental by day, like fct_touchpoints: the conversions of contacts that changed in the window.
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_visitors_identified') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}

with

touchpoints as (

    select * from {{ ref('fct_touchpoints') }}

    {% if smarketing.incremental_window() %}
    where lead_id in ({{ smarketing.changed_contact_ids() }})
    {% endif %}

),

final as (

    -- One journey per conversion: its touchpoints' channels in time order.
    select
        conversion_id,
        conversion_stage,
        lead_id,
        {{ dbt.listagg('channel', "' > '", 'order by touch_number') }} as path

    from touchpoints

    group by conversion_id, conversion_stage, lead_id

)

select * from final
