{#
    The rule-based credits (first, last, last non-direct, linear, position-based, time-decay) of the
    touchpoints in `touchpoints` (a relation or a CTE with fct_touchpoints' columns). Every window is
    per conversion, so a subset of whole conversions gives the same credits as the full table: the
    incremental fct_attribution_credits passes only the changed conversions' touchpoints (computing
    them all and filtering afterwards was most of its daily time). int_touchpoints_credited_rules is
    the same SQL over every touchpoint.
#}
{% macro rule_based_credits(touchpoints) -%}
{%- set half_life_days = var('attribution_half_life_days') -%}
{%- set models = ['first_touch', 'last_touch', 'last_non_direct', 'linear', 'position_based', 'time_decay'] -%}
select * from (

    with

    prepared as (

        select
            touchpoint_id,
            conversion_id,
            touch_number,
            touch_count,
            coalesce(
                max(case when channel <> 'Direct' then touch_number end) over (partition by conversion_id),
                touch_count
            ) as last_non_direct_number,
            -- Exact decimal weights: the sum per conversion does not depend on the order rows are added
            -- in, so reruns give identical credits.
            cast(power(0.5, days_before_conversion / {{ half_life_days }}) as decimal(38, 18)) as decay_weight

        from {{ touchpoints }}

    ),

    credited as (

        select
            touchpoint_id,
            conversion_id,
            case when touch_number = 1 then 1.0 else 0.0 end as first_touch,
            case when touch_number = touch_count then 1.0 else 0.0 end as last_touch,
            case when touch_number = last_non_direct_number then 1.0 else 0.0 end as last_non_direct,
            1.0 / touch_count as linear,
            -- 40% first, 40% last, 20% shared by the middle; halves for two touches; all for one.
            case
                when touch_count = 1 then 1.0
                when touch_count = 2 then 0.5
                when touch_number = 1 or touch_number = touch_count then 0.4
                else 0.2 / (touch_count - 2)
            end as position_based,
            cast(decay_weight as double precision)
                / cast(sum(decay_weight) over (partition by conversion_id) as double precision) as time_decay

        from prepared

    )

    {% for model in models %}
    select
        touchpoint_id,
        conversion_id,
        '{{ model }}' as attribution_model,
        cast({{ model }} as double precision) as credit
    from credited
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

) as rule_based_credits
{%- endmacro %}


{#
    The data-driven models' credits (Markov, Shapley) of the touchpoints in `touchpoints` (a relation or
    a CTE name; every touchpoint of each conversion in it), as attribution/credit.py's credit_touchpoints
    computes them (the tests hold the two equal), but in the engine: at scale 10 the pandas version
    spent 40 s on 2 million touchpoints, the SQL a few. The channel weights are fitted on all journeys
    (int_attribution_channel_weights). int_touchpoints_credited_data_driven is this SQL over every
    touchpoint.
#}
{% macro data_driven_credits(touchpoints) -%}
select * from (

    with

    touchpoints as (

        select conversion_id, conversion_stage, touchpoint_id, channel from {{ touchpoints }}

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

) as data_driven_credits
{%- endmacro %}
