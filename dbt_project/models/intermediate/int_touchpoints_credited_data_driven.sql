-- read once, by the next model
{{ config(materialized='view') }}
-- The data-driven models' credit per touchpoint, as attribution/credit.py's credit_touchpoints
-- computes it (the tests hold the two equal), but in the engine: at scale 10 the pandas version spent
-- 40 s on 2 million touchpoints, the SQL a few.

with

touchpoints as (

    select conversion_id, conversion_stage, touchpoint_id, channel from {{ ref('fct_touchpoints') }}

),

weights as (

    select conversion_stage, channel, weight from {{ ref('int_attribution_channel_weights') }}

),

counted as (

    select
        touchpoints.touchpoint_id,
        touchpoints.conversion_id,
        count(*) over (partition by touchpoints.conversion_id, touchpoints.channel) as channel_touches,
        count(*) over (partition by touchpoints.conversion_id) as touches,
        coalesce(weights.weight, 0) as weight

    from touchpoints

    left join weights
        on touchpoints.conversion_stage = weights.conversion_stage
        and touchpoints.channel = weights.channel

),

distinct_channels as (

    select conversion_id, count(distinct channel) as channels from touchpoints group by conversion_id

),

shared as (

    select
        counted.*,
        distinct_channels.channels,
        -- Markov: the conversion is split among its channels in proportion to their removal effects,
        -- then equally among a channel's touches; with no effect anywhere, equally among all touches.
        -- Exact decimals: a conversion's sum does not depend on the order rows are added in, so reruns
        -- give identical credits.
        cast(counted.weight / counted.channel_touches as decimal(38, 18)) as touch_weight,
        sum(cast(counted.weight / counted.channel_touches as decimal(38, 18))) over (
            partition by counted.conversion_id
        ) as weight_total

    from counted

    inner join distinct_channels
        on counted.conversion_id = distinct_channels.conversion_id

),

final as (

    select
        touchpoint_id,
        conversion_id,
        'markov' as attribution_model,
        case
            when weight_total > 0
                then cast(touch_weight as double precision) / cast(weight_total as double precision)
            else 1.0 / touches
        end as credit

    from shared

    union all

    -- Shapley (Zhao et al. game): the conversion is split equally among its distinct channels, and a
    -- channel's share equally among its touches.
    select
        touchpoint_id,
        conversion_id,
        'shapley' as attribution_model,
        1.0 / (channels * channel_touches) as credit

    from shared

)

select * from final
