-- read once, by the next model
{{ config(materialized='view') }}
-- The data-driven models' credit per touchpoint, as attribution/credit.py's credit_touchpoints
-- computes it (the tests hold the two equal), but in the engine: at scale 10 the pandas version spent
-- 40 s on 2 million touchpoints, the SQL a few. A daily run's fct_attribution_credits reads every
-- conversion's Markov credits from here (the weights are refitted on every journey) and the changed
-- conversions' Shapley credits.

with

touchpoints as (

    select conversion_id, conversion_stage, touchpoint_id, channel from {{ ref('fct_touchpoints') }}

),

weights as (

    select conversion_stage, channel, weight from {{ ref('int_attribution_channel_weights') }}

),

per_channel as (

    -- Touches of each channel in each conversion, and the channel's weight: aggregates, not window
    -- functions over every touch (three windows were most of this SQL's time).
    select
        touchpoints.conversion_id,
        touchpoints.channel,
        count(*) as channel_touches,
        coalesce(any_value(weights.weight), 0) as weight

    from touchpoints

    left join weights
        on touchpoints.conversion_stage = weights.conversion_stage
        and touchpoints.channel = weights.channel

    group by touchpoints.conversion_id, touchpoints.channel

),

per_conversion as (

    -- Markov: the conversion is split among its channels in proportion to their removal effects,
    -- then equally among a channel's touches; with no effect anywhere, equally among all touches.
    -- Exact decimals: a touch's weight is weight / channel touches as a decimal, and the total is
    -- the exact sum of every touch's (channel touches x that decimal), so it does not depend on the
    -- order rows are added in and reruns give identical credits.
    select
        conversion_id,
        cast(sum(channel_touches) as bigint) as touches,
        count(*) as channels,
        sum(channel_touches * cast(weight / channel_touches as decimal(38, 18))) as weight_total

    from per_channel

    group by conversion_id

),

shared as (

    select
        touchpoints.touchpoint_id,
        touchpoints.conversion_id,
        per_channel.channel_touches,
        per_conversion.touches,
        per_conversion.channels,
        cast(per_channel.weight / per_channel.channel_touches as decimal(38, 18)) as touch_weight,
        per_conversion.weight_total

    from touchpoints

    inner join per_channel
        on touchpoints.conversion_id = per_channel.conversion_id
        and touchpoints.channel = per_channel.channel

    inner join per_conversion
        on touchpoints.conversion_id = per_conversion.conversion_id

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
