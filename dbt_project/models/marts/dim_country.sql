{#- Country -> region, the region dimension of the shared KPIs (semantic model `countries`). The regions
    are the sales territories the CRM's owners are organised in (stg_crm__owners.region: EMEA-SOUTH,
    EMEA-NORTH, NA), so a region's leads are the ones its sales team works. Every country a lead has
    gets a row: a country not in the list below is 'unassigned', a lead without one is 'unknown'. -#}
{%- set territories = [
    ('ES', 'EMEA-SOUTH'), ('PT', 'EMEA-SOUTH'), ('FR', 'EMEA-SOUTH'), ('IT', 'EMEA-SOUTH'), ('MX', 'EMEA-SOUTH'),
    ('GB', 'EMEA-NORTH'), ('DE', 'EMEA-NORTH'), ('NL', 'EMEA-NORTH'),
    ('US', 'NA'),
    ('unknown', 'unknown'),
] -%}

with

lead_funnel as (

    select * from {{ ref('fct_lead_funnel') }}

),

territories as (

    {% for country, region in territories %}
    select
        cast('{{ country }}' as {{ dbt.type_string() }}) as country,
        cast('{{ region }}' as {{ dbt.type_string() }}) as region
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

lead_countries as (

    select distinct country from lead_funnel

),

countries as (

    select country from territories
    union
    select country from lead_countries

),

final as (

    select
        cast(countries.country as {{ dbt.type_string() }}) as country,
        cast(coalesce(territories.region, 'unassigned') as {{ dbt.type_string() }}) as region

    from countries

    left join territories
        on countries.country = territories.country

)

select * from final
