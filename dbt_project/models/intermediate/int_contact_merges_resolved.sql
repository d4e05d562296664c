with recursive

merges as (

    select * from {{ ref('stg_crm__contact_merges') }}

),

chain as (

    -- Follow merged_into_contact_id until it names a contact that was not merged itself. The depth
    -- guard stops a (corrupt) cycle.
    select
        merged_contact_id,
        merged_into_contact_id as survivor_contact_id,
        1 as merge_depth

    from merges

    union all

    select
        chain.merged_contact_id,
        merges.merged_into_contact_id as survivor_contact_id,
        chain.merge_depth + 1 as merge_depth

    from chain

    inner join merges
        on chain.survivor_contact_id = merges.merged_contact_id

    where chain.merge_depth < 20

),

deepest as (

    select
        merged_contact_id,
        survivor_contact_id,
        merge_depth,
        row_number() over (partition by merged_contact_id order by merge_depth desc) as depth_rank

    from chain

),

final as (

    select
        deepest.merged_contact_id,
        deepest.survivor_contact_id,
        deepest.merge_depth,
        merges.email_normalised,
        merges.merged_at

    from deepest

    inner join merges
        on deepest.merged_contact_id = merges.merged_contact_id

    where deepest.depth_rank = 1

)

select * from final
