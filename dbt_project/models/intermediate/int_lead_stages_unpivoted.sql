{%- set crm_stages = [
    ('lead', 1, 'became_lead_at'),
    ('mql', 2, 'became_mql_at'),
    ('sql', 3, 'became_sql_at'),
    ('opportunity', 4, 'became_opportunity_at'),
] -%}

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

sales as (

    select * from {{ ref('int_sales_unioned') }}

),

first_sales as (

    -- Customer = first sale: a won deal or a matched store purchase, whichever came first.
    -- (The CRM's became_customer_at only knows deals and is not used.)
    select
        contact_id,
        min(sold_at) as first_sold_at

    from sales

    where contact_id is not null

    group by contact_id

),

unpivoted as (

    {% for stage, stage_order, column in crm_stages %}
    select
        contact_id,
        '{{ stage }}' as stage,
        {{ stage_order }} as stage_order,
        {{ column }} as source_entered_at
    from contacts
    where {{ column }} is not null

    union all

    {% endfor %}
    select
        contact_id,
        'customer' as stage,
        5 as stage_order,
        first_sold_at as source_entered_at
    from first_sales

),

ordered as (

    -- A later stage is never entered before an earlier one: a stage whose own timestamp is earlier
    -- than a previous stage's is taken as entered when that previous stage was.
    select
        contact_id,
        stage,
        stage_order,
        source_entered_at,
        max(source_entered_at) over (
            partition by contact_id
            order by stage_order
            rows between unbounded preceding and current row
        ) as entered_at

    from unpivoted

),

final as (

    select
        contact_id,
        stage,
        stage_order,
        source_entered_at,
        entered_at,
        entered_at <> source_entered_at as is_entered_at_adjusted

    from ordered

)

select * from final
