with

channel_definitions as (

    select * from {{ ref('channel_definitions') }}

),

final as (

    select
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(channel_group as {{ dbt.type_string() }}) as channel_group,
        cast(is_paid as boolean) as is_paid,
        cast(sort_order as integer) as sort_order

    from channel_definitions

)

select * from final
