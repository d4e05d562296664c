{%- set a = smarketing.agreement() -%}
{%- set tz = a['business_timezone'] -%}

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

lead_stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

),

engagements as (

    select * from {{ ref('stg_crm__engagements') }}

),

calendar as (

    select * from {{ ref('int_business_hours_calendar') }}

),

as_of as (

    -- "Now" for pending commitments: the latest change the CRM export knows of, so a rebuild of the same
    -- data gives the same answer.
    select max(updated_at) as as_of_at from contacts

),

handed_over as (

    -- A lead is handed to sales when it enters the MQL stage in the CRM; sales' clock starts then.
    select
        contacts.contact_id,
        mql.entered_at as handed_to_sales_at,
        sqls.entered_at as accepted_at,
        contacts.disqualified_at,
        contacts.disqualification_reason,
        {{ smarketing.convert_timezone('mql.entered_at', 'UTC', tz) }} as handed_at_local

    from contacts

    inner join lead_stages as mql
        on contacts.contact_id = mql.contact_id
        and mql.stage = 'mql'

    left join lead_stages as sqls
        on contacts.contact_id = sqls.contact_id
        and sqls.stage = 'sql'

),

positioned as (

    -- Position of the hand-over on the business-hours clock (minutes since the calendar began).
    select
        handed_over.*,
        calendar.business_minutes_before
        + case
            when not calendar.is_business_day then 0
            when handed_at_local <= calendar.opens_at_local then 0
            when handed_at_local >= calendar.closes_at_local then calendar.business_minutes
            else {{ smarketing.seconds_between('calendar.opens_at_local', 'handed_at_local') }} / 60.0
        end
        + {{ a['first_contact_business_minutes'] }} as due_position

    from handed_over

    inner join calendar
        on cast(handed_over.handed_at_local as date) = calendar.date_day

),

first_contact_due as (

    -- The business day on which the deadline position falls, and the time within it.
    select
        positioned.contact_id,
        {{ smarketing.convert_timezone(
            smarketing.add_seconds(
                'calendar.opens_at_local',
                'round((positioned.due_position - calendar.business_minutes_before) * 60)'),
            tz, 'UTC') }} as first_contact_due_at

    from positioned

    {% if target.type == 'duckdb' %}
    -- DuckDB: an as-of join, the latest business day starting before the position (the range join
    -- below took 1.6 s at scale 10). Days with business minutes have strictly increasing starts, so
    -- that day is the one whose range holds the position, if the calendar reaches it.
    asof join (select * from calendar where is_business_day and business_minutes > 0) as calendar
        on positioned.due_position > calendar.business_minutes_before

    where positioned.due_position <= calendar.business_minutes_before + calendar.business_minutes
    {% else %}
    inner join calendar
        on calendar.is_business_day
        and positioned.due_position > calendar.business_minutes_before
        and positioned.due_position <= calendar.business_minutes_before + calendar.business_minutes
    {% endif %}

),

attempts as (

    select
        handed_over.contact_id,
        min(engagements.occurred_at) as first_sales_contact_at,
        count(
            case
                when engagements.occurred_at <= {{ dbt.dateadd('day', a['follow_up_within_days'], 'handed_over.handed_to_sales_at') }}
                    then 1
            end
        ) as attempts_in_window

    from handed_over

    inner join engagements
        on handed_over.contact_id = engagements.contact_id
        and engagements.direction = 'OUTBOUND'
        and engagements.occurred_at >= handed_over.handed_to_sales_at

    group by handed_over.contact_id

),

measured as (

    select
        handed_over.contact_id,
        handed_over.handed_to_sales_at,
        first_contact_due.first_contact_due_at,
        attempts.first_sales_contact_at,
        coalesce(attempts.attempts_in_window, 0) as follow_up_attempts,
        {{ dbt.dateadd('day', a['follow_up_within_days'], 'handed_over.handed_to_sales_at') }} as follow_up_due_at,
        case
            when handed_over.accepted_at is not null then 'accepted'
            when handed_over.disqualified_at is not null then 'rejected'
        end as sales_decision,
        coalesce(handed_over.accepted_at, handed_over.disqualified_at) as sales_decided_at,
        case when handed_over.accepted_at is null then handed_over.disqualification_reason end as rejection_reason,
        {{ dbt.dateadd('day', a['decision_within_days'], 'handed_over.handed_to_sales_at') }} as decision_due_at,
        as_of.as_of_at

    from handed_over

    cross join as_of

    left join first_contact_due
        on handed_over.contact_id = first_contact_due.contact_id

    left join attempts
        on handed_over.contact_id = attempts.contact_id

),

final as (

    -- Each commitment: met, missed, or pending (its deadline is still ahead and it is not met yet).
    select
        contact_id,
        handed_to_sales_at,
        first_contact_due_at,
        first_sales_contact_at,
        case
            when first_sales_contact_at <= first_contact_due_at then 'met'
            when first_sales_contact_at is not null or first_contact_due_at < as_of_at then 'missed'
            else 'pending'
        end as first_contact_sla,
        follow_up_attempts,
        follow_up_due_at,
        case
            when follow_up_attempts >= {{ a['follow_up_min_attempts'] }} then 'met'
            when follow_up_due_at < as_of_at then 'missed'
            else 'pending'
        end as follow_up_sla,
        sales_decision,
        sales_decided_at,
        decision_due_at,
        case
            when sales_decided_at <= decision_due_at then 'met'
            when sales_decided_at is not null or decision_due_at < as_of_at then 'missed'
            else 'pending'
        end as decision_sla,
        rejection_reason,
        case
            when sales_decision = 'rejected' then coalesce({{ smarketing.in_list('rejection_reason', a['rejection_reasons']) }}, false)
        end as is_agreed_rejection_reason

    from measured

)

select * from final
