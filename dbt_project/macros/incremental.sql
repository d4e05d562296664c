{#
    Daily incremental builds (orchestration/partitions.py). Dagster passes the start of the window a
    partitioned run rebuilds: `SMARKETING_WINDOW_START` (naive UTC timestamp) and
    `SMARKETING_WINDOW_START_DATE` (local date, for ad platforms' days), as environment variables read
    only while executing: as vars they would change every day, and a change of vars makes dbt parse
    the whole project again. By hand, the vars `smarketing_window_start` and
    `smarketing_window_start_date` do the same. Without either an incremental model rebuilds every row,
    so a hand-run `dbt build` stays correct.
#}

{% macro window_setting(name) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none and execute -%}
        {%- set value = env_var(name | upper, '') or none -%}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}

{% macro window_start() -%}
    {%- set start = smarketing.window_setting('smarketing_window_start') -%}
    {%- if start -%} cast('{{ start }}' as timestamp) {%- endif -%}
{%- endmacro %}

{% macro window_start_date() -%}
    {%- set start = smarketing.window_setting('smarketing_window_start_date') -%}
    {%- if start -%} cast('{{ start }}' as date) {%- endif -%}
{%- endmacro %}

{% macro incremental_window() -%}
    {#- Unit tests build a model without a relation (`this` is none): always from scratch. -#}
    {{- return(this is not none and is_incremental() and smarketing.window_setting('smarketing_window_start') is not none) -}}
{%- endmacro %}

{#
    Contacts whose lead-level facts may have changed since the window start: a CRM update, a visitor
    identified, a sale, or a merge (both the merged contact and its survivors, whose rows move). Their
    touchpoints and stage history are rebuilt whole; everyone else's rows stay as they were.
    A model using this needs `-- depends_on:` lines for these refs (they are only rendered when
    incremental, after dbt has parsed the model). `from_graph`: the relations are looked up in the
    graph instead, for data tests' `where` (get_where_subquery), which cannot ref.
#}
{% macro changed_contact_ids(from_graph=false) -%}
    {%- set rel = smarketing.graph_relation if from_graph else ref -%}
    {%- set start = smarketing.window_start() -%}
    with changed as (
        select contact_id from {{ rel('stg_crm__contacts') }}
        where updated_at >= {{ start }} or created_at >= {{ start }}
        union
        select contact_id from {{ rel('int_visitors_identified') }} where identified_at >= {{ start }}
        union
        select contact_id from {{ rel('int_sales_unioned') }} where sold_at >= {{ start }} and contact_id is not null
        union
        select merged_contact_id from {{ rel('stg_crm__contact_merges') }} where merged_at >= {{ start }}
        union
        select merged_into_contact_id from {{ rel('stg_crm__contact_merges') }} where merged_at >= {{ start }}
    )
    select contact_id from changed
    union
    select survivor_contact_id from {{ rel('int_contact_merges_resolved') }}
    where merged_contact_id in (select contact_id from changed)
    union
    select merged_contact_id from {{ rel('int_contact_merges_resolved') }}
    where survivor_contact_id in (select contact_id from changed)
{%- endmacro %}

{# Pre-hook of lead-keyed incremental models: drop the changed contacts' rows before re-inserting them. #}
{% macro delete_changed_leads() -%}
    {%- if smarketing.incremental_window() -%}
        delete from {{ this }} where lead_id in ({{ smarketing.changed_contact_ids() }})
    {%- endif -%}
{%- endmacro %}

{#
    People (attribution journeys, int_attribution_person_paths) whose path may have changed since the
    window start: a person is the contact a visitor became, else 'visitor:' || the anonymous id. Every
    person of a visitor with a session in the window or whose contact changed, that visitor's anonymous
    person (gone once identified), and the changed contacts themselves (merged away, or moved).
#}
{% macro changed_attribution_people() -%}
    {%- set start = smarketing.window_start() -%}
    with changed_visitors as (
        select anonymous_id from {{ ref('int_sessions_touch_resolved') }} where session_started_at >= {{ start }}
        union
        select anonymous_id from {{ ref('int_visitors_identified') }}
        where contact_id in ({{ smarketing.changed_contact_ids() }})
    )
    select coalesce(contact_id, 'visitor:' || anonymous_id) as person_id
    from {{ ref('int_sessions_touch_resolved') }}
    where anonymous_id in (select anonymous_id from changed_visitors)
    union
    select 'visitor:' || anonymous_id from changed_visitors
    union
    select contact_id from ({{ smarketing.changed_contact_ids() }}) as changed_contacts
{%- endmacro %}

{# Pre-hook of int_attribution_person_paths: drop the changed people's paths before re-inserting them. #}
{% macro delete_changed_attribution_people() -%}
    {%- if smarketing.incremental_window() -%}
        delete from {{ this }} where person_id in ({{ smarketing.changed_attribution_people() }})
    {%- endif -%}
{%- endmacro %}

{# Attribution models fitted on all journeys: a daily run recomputes every conversion's credits. #}
{% macro global_attribution_models() -%}
    {{- return(['markov']) -}}
{%- endmacro %}

{# Pre-hook of fct_attribution_credits: drop the changed contacts' credits, and every credit of the
   global models, before re-inserting them. #}
{% macro delete_changed_credits() -%}
    {%- set global_models = smarketing.global_attribution_models() -%}
    {%- if smarketing.incremental_window() -%}
        delete from {{ this }}
        where attribution_model in ('{{ global_models | join("', '") }}')
            or lead_id in ({{ smarketing.changed_contact_ids() }})
    {%- endif -%}
{%- endmacro %}

{# A model's relation from the graph, where ref() is not allowed (a test's `where`, get_where_subquery). #}
{% macro graph_relation(name) -%}
    {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ name] -%}
    {{- return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -}}
{%- endmacro %}

{#
    Data tests that look only at what a daily run rebuilt. A test's `where` may hold placeholders:
      __this__                        the tested relation
      __window_start__                the start of the window (naive UTC timestamp)
      __changed_contact_ids__         a query of the changed contacts (changed_contact_ids)
      __global_attribution_models__   the attribution models recomputed for every conversion, quoted
    In a daily run they are filled in; without a window (a full build, a hand run) such a `where` is
    dropped and the test reads the whole table. Rows outside the window were tested when they were
    written and have not changed since; a uniqueness test keeps the old rows that share a key with a
    rebuilt one (`key in (select key from __this__ where ...)`), so a duplicate across the window's
    boundary is still found. This overrides dbt's own macro (global_project), as its docs describe.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set placeholders = ['__this__', '__window_start__', '__changed_contact_ids__', '__global_attribution_models__'] -%}
    {%- set windowed = where and (placeholders | select('in', where) | list) -%}
    {%- if windowed and not smarketing.window_start() -%}
        {{- return(relation) -}}
    {%- elif windowed -%}
        {%- set global_models = "'" ~ (smarketing.global_attribution_models() | join("', '")) ~ "'" -%}
        {%- set where = where
            | replace('__this__', relation | string)
            | replace('__window_start__', smarketing.window_start())
            | replace('__changed_contact_ids__', smarketing.changed_contact_ids(from_graph=true))
            | replace('__global_attribution_models__', global_models) -%}
        {{- return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -}}
    {%- endif -%}
    {{- return(dbt.default__get_where_subquery(relation)) -}}
{%- endmacro %}
