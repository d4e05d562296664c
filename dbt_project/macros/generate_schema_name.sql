{#- Custom schemas are used as-is (staging, intermediate, marts, seeds) instead of being
    prefixed with the target schema, so every target has the same readable layout. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
