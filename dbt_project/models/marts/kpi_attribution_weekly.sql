with

credits as {{ smarketing.inlined_cte() }} (

    -- Read twice (conversion times, then the credits themselves): 18 million rows at scale 10 are not
    -- worth copying into a temporary result first.
    select * from {{ ref('fct_attribution_credits') }}

),

ad_spend as (

    select * from {{ ref('fct_ad_spend_daily') }}

),

conversion_weeks as (

    -- The ISO week (reporting time zone) of each conversion time, converted once per distinct time: a
    -- time zone conversion per credit was most of this model's time (18 million credits at scale 10).
    select
        converted_at,
        {{ smarketing.iso_week_start(smarketing.to_reporting_tz('converted_at')) }} as week_start_date

    from (select distinct converted_at from credits) as conversion_times

),

attributed as (

    -- Conversions and revenue in the ISO week of the conversion.
    select
        conversion_weeks.week_start_date,
        credits.attribution_model,
        credits.conversion_stage,
        credits.channel,
        coalesce(credits.campaign_key, '(none)') as campaign_key,
        max(credits.platform) as platform,
        max(credits.campaign_id) as campaign_id,
        -- Summed as exact decimals, so reruns give identical totals whatever the row order.
        sum(cast(credits.credit as decimal(38, 15))) as attributed_conversions,
        sum(cast(credits.attributed_revenue_reporting as decimal(38, 9))) as attributed_revenue_reporting

    from credits

    left join conversion_weeks
        on credits.converted_at = conversion_weeks.converted_at

    group by 1, 2, 3, 4, 5

),

models as (

    -- Every (model, stage) with credits, from the aggregate rather than another pass over the credits.
    select distinct attribution_model, conversion_stage from attributed

),

spend as (

    -- Spend of every campaign-week, repeated for every model and stage so each slice is complete.
    select
        {{ smarketing.iso_week_start('ad_spend.date_day') }} as week_start_date,
        models.attribution_model,
        models.conversion_stage,
        ad_spend.channel,
        ad_spend.campaign_key,
        max(ad_spend.platform) as platform,
        max(ad_spend.campaign_id) as campaign_id,
        sum(ad_spend.spend_reporting) as spend_reporting

    from ad_spend

    cross join models

    group by 1, 2, 3, 4, 5

),

joined as (

    select
        coalesce(attributed.week_start_date, spend.week_start_date) as week_start_date,
        coalesce(attributed.attribution_model, spend.attribution_model) as attribution_model,
        coalesce(attributed.conversion_stage, spend.conversion_stage) as conversion_stage,
        coalesce(attributed.channel, spend.channel) as channel,
        coalesce(attributed.campaign_key, spend.campaign_key) as campaign_key,
        coalesce(attributed.platform, spend.platform) as platform,
        coalesce(attributed.campaign_id, spend.campaign_id) as campaign_id,
        coalesce(attributed.attributed_conversions, 0) as attributed_conversions,
        coalesce(attributed.attributed_revenue_reporting, 0) as attributed_revenue_reporting,
        coalesce(spend.spend_reporting, 0) as spend_reporting

    from attributed

    full outer join spend
        on attributed.week_start_date = spend.week_start_date
        and attributed.attribution_model = spend.attribution_model
        and attributed.conversion_stage = spend.conversion_stage
        and attributed.channel = spend.channel
        and attributed.campaign_key = spend.campaign_key

),

rounded as (

    -- Money as published (cents), so the ratios below recompute from the mart's own columns.
    select
        joined.*,
        cast(attributed_revenue_reporting as decimal(18, 2)) as revenue_rounded,
        cast(spend_reporting as decimal(18, 2)) as spend_rounded

    from joined

),

final as (

    select
        {{ smarketing.surrogate_key(['week_start_date', 'attribution_model', 'conversion_stage', 'channel', 'campaign_key']) }}
            as attribution_weekly_id,
        cast(week_start_date as date) as week_start_date,
        cast(attribution_model as {{ dbt.type_string() }}) as attribution_model,
        cast(conversion_stage as {{ dbt.type_string() }}) as conversion_stage,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(case when campaign_key = '(none)' then null else campaign_key end as {{ dbt.type_string() }}) as campaign_key,
        cast(platform as {{ dbt.type_string() }}) as platform,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(attributed_conversions as double precision) as attributed_conversions,
        revenue_rounded as attributed_revenue_reporting,
        spend_rounded as spend_reporting,
        cast('{{ var("reporting_currency") }}' as {{ dbt.type_string() }}) as reporting_currency,
        -- Cost per attributed conversion at this stage (CAC for won deals and in-store purchases).
        cast(
            case when attributed_conversions > 0 then cast(spend_rounded as double precision) / attributed_conversions end
            as double precision
        ) as cost_per_conversion_reporting,
        cast(
            case
                when spend_rounded > 0 then cast(revenue_rounded as double precision) / cast(spend_rounded as double precision)
            end
            as double precision
        ) as roas

    from rounded

)

select * from final
