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
