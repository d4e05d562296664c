with

owners as (

    select * from {{ ref('stg_crm__owners') }}

),

final as (

    -- A rep's name is their business identity in every sales report; the mart keeps only the
    -- first name and the last initial ("Ana G."), never the e-mail or the full surname.
    select
        cast(owner_id as {{ dbt.type_string() }}) as owner_id,
        cast(
            trim(coalesce(first_name, '') || ' ' || coalesce(left(last_name, 1) || '.', ''))
            as {{ dbt.type_string() }}
        ) as rep_name,
        cast(team as {{ dbt.type_string() }}) as team,
        cast(region as {{ dbt.type_string() }}) as region,
        cast(is_active as boolean) as is_active,
        cast(created_at as timestamp) as created_at

    from owners

)

select * from final
