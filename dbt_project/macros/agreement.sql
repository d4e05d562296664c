{#- The marketing-sales agreement (agreement.yml), passed by the pipeline as `--vars` (see
    orchestration/agreement.py: `python -m orchestration.agreement dbt-vars`). There is no default in
    dbt_project.yml on purpose: dbt never computes a criterion from anything but the signed file.
    While parsing (no SQL runs) a neutral placeholder keeps `dbt parse` working without the vars. -#}
{% macro agreement() -%}
    {%- set value = var('agreement', none) -%}
    {%- if value is none -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "dbt var 'agreement' is missing: run dbt through Dagster, or pass "
                ~ "--vars \"$(python -m orchestration.agreement dbt-vars)\"") }}
        {%- endif -%}
        {%- set value = {
            'version': 'parse', 'icp': {'industry': [], 'company_size': [], 'country': [], 'job_role': []},
            'fit_weights': {'industry': 0, 'company_size': 0, 'country': 0, 'job_role': 0},
            'mql_fit_score': 0, 'engagement_window_days': 1, 'engagement_min_events': 0,
            'required_fields': [], 'business_timezone': 'UTC', 'business_days': [1],
            'business_start_minute': 0, 'business_minutes_per_day': 60, 'holidays': [],
            'first_contact_business_minutes': 60, 'follow_up_min_attempts': 1, 'follow_up_within_days': 1,
            'decision_within_days': 1, 'rejection_reasons': [], 'weekly_mql_quota_total': 0,
            'weekly_mql_quota_by_channel': {}, 'revenue_goal': 1, 'average_deal_size': 1,
            'attribution_lookback_days': 1} -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#- A SQL list literal of strings, or a condition that is never true for an empty list. -#}
{% macro in_list(expr, values) -%}
    {%- if values | length == 0 -%}
        (1 = 0)
    {%- else -%}
        ({{ expr }} in ({% for v in values %}'{{ v | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %}))
    {%- endif -%}
{%- endmacro %}


{#- A naive timestamp in time zone `from_tz` expressed as a naive timestamp in `to_tz` (DuckDB, PostgreSQL). -#}
{% macro convert_timezone(expr, from_tz, to_tz) -%}
    ((({{ expr }}) at time zone '{{ from_tz }}') at time zone '{{ to_tz }}')
{%- endmacro %}


{#- Seconds from `start` to `end` (timestamps), fractional seconds ignored. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between', 'smarketing')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    date_diff('second', {{ start }}, {{ end }})
{%- endmacro %}

{% macro postgres__seconds_between(start, end) -%}
    cast(floor(extract(epoch from ({{ end }}) - ({{ start }}))) as bigint)
{%- endmacro %}


{#- `expr` (timestamp) plus a number of seconds (an integer expression). -#}
{% macro add_seconds(expr, seconds) -%}
    {{ return(adapter.dispatch('add_seconds', 'smarketing')(expr, seconds)) }}
{%- endmacro %}

{% macro default__add_seconds(expr, seconds) -%}
    (({{ expr }}) + to_seconds(cast({{ seconds }} as bigint)))
{%- endmacro %}

{% macro postgres__add_seconds(expr, seconds) -%}
    (({{ expr }}) + make_interval(secs => {{ seconds }}))
{%- endmacro %}
