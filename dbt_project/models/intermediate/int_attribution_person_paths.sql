{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='append_new_columns',
        pre_hook="{{ smarketing.delete_changed_attribution_people() }}",
    )
}}
-- Incremental by day: a daily run rebuilds the paths of the people whose sessions or identity changed
-- in the window (smarketing.changed_attribution_people); at scale 10 a full build of the 6.5 million
-- paths is most of the data-driven attribution's time.
-- depends_on: {{ ref('stg_crm__contacts') }}
-- depends_on: {{ ref('int_visitors_identified') }}
-- depends_on: {{ ref('int_sales_unioned') }}
-- depends_on: {{ ref('stg_crm__contact_merges') }}
-- depends_on: {{ ref('int_contact_merges_resolved') }}
{%- set lookback_days = var('attribution_lookback_days') %}

with

sessions as (

    select * from {{ ref('int_sessions_touch_resolved') }}

),

people as (

    -- A person is the contact a visitor became, else the anonymous visitor.
    select
        coalesce(contact_id, 'visitor:' || anonymous_id) as person_id,
        contact_id,
        session_id,
        session_started_at,
        channel

    from sessions

),

{% if smarketing.incremental_window() %}
changed_people as (

    {{ smarketing.changed_attribution_people() }}

),
{% endif %}

last_touched as (

    select
        *,
        max(session_started_at) over (partition by person_id) as last_touched_at

    from people

    {% if smarketing.incremental_window() %}
    where person_id in (select person_id from changed_people)
    {% endif %}

),

in_window as (

    -- Each person's sessions in the look-back window before their last session.
    select * from last_touched

    where session_started_at > {{ dbt.dateadd('day', -1 * lookback_days, 'last_touched_at') }}

),

session_counts as (

    select person_id, count(*) as sessions from in_window group by person_id

),

final as (

    -- One path per person (it does not depend on the stage). A one-session path is its channel: only
    -- longer journeys go through the ordered aggregation, which holds its input in memory (at scale 10,
    -- 6.5 million people, two thirds of them with one session).
    select
        in_window.person_id,
        in_window.contact_id,
        in_window.channel as path,
        in_window.last_touched_at

    from in_window

    inner join session_counts
        on in_window.person_id = session_counts.person_id

    where session_counts.sessions = 1

    union all

    select
        in_window.person_id,
        in_window.contact_id,
        {{ dbt.listagg('in_window.channel', "' > '", 'order by in_window.session_started_at, in_window.session_id') }} as path,
        in_window.last_touched_at

    from in_window

    inner join session_counts
        on in_window.person_id = session_counts.person_id

    where session_counts.sessions > 1

    group by in_window.person_id, in_window.contact_id, in_window.last_touched_at

)

select * from final
