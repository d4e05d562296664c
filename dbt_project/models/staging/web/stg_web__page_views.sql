with

source as (

    select * from {{ source('web', 'page_views') }}

),

renamed as (

    select
        page_view_id,
        session_id,
        anonymous_id,
        cast(viewed_at as timestamp) as viewed_at,
        page_url,
        page_title

    from source

)

select * from renamed
