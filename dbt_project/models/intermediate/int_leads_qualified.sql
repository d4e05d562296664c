{%- set a = smarketing.agreement() -%}
{%- set w = a['fit_weights'] -%}
{%- set required = a['required_fields'] -%}

with

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

companies as (

    select * from {{ ref('stg_crm__companies') }}

),

form_submissions as (

    select * from {{ ref('stg_web__form_submissions') }}

),

engagements as (

    select * from {{ ref('int_lead_engagements_unioned') }}

),

consent as (

    select
        contacts.contact_id,
        max(case when form_submissions.has_marketing_consent then 1 else 0 end) = 1 as has_consent

    from contacts

    inner join form_submissions
        on contacts.email_normalised = form_submissions.email_normalised

    group by contacts.contact_id

),

engagement_rolling as (

    -- Visits and form submissions in the agreed window up to and including each engagement.
    select
        contact_id,
        engaged_at,
        count(*) over (
            partition by contact_id
            order by engaged_at
            range between interval '{{ a["engagement_window_days"] }} days' preceding and current row
        ) as events_in_window

    from engagements

),

engagement_reached as (

    select
        contact_id,
        min(case when events_in_window >= {{ a['engagement_min_events'] }} then engaged_at end) as engagement_reached_at,
        max(events_in_window) as max_events_in_window

    from engagement_rolling

    group by contact_id

),

profiled as (

    select
        contacts.contact_id,
        contacts.became_lead_at as lead_at,
        companies.industry as company_industry,
        case
            when companies.number_of_employees is null then 'unknown'
            when companies.number_of_employees <= 10 then '1-10'
            when companies.number_of_employees <= 50 then '11-50'
            when companies.number_of_employees <= 200 then '51-200'
            when companies.number_of_employees <= 1000 then '201-1000'
            else '1001+'
        end as company_size_band,
        contacts.country,
        contacts.job_role,
        coalesce(
            {{ smarketing.regexp_matches('contacts.email_normalised', '^[a-z0-9._%+-]+@[a-z0-9.-]+[.][a-z]{2,}$') }},
            false
        ) as has_valid_email,
        coalesce({{ smarketing.regexp_matches('contacts.phone_normalised', '^[+][1-9][0-9]{7,14}$') }}, false)
            as has_valid_phone,
        companies.company_id is not null and companies.company_name is not null as has_company,
        coalesce(consent.has_consent, false) as has_consent,
        contacts.original_source is not null as has_source,
        coalesce(engagement_reached.max_events_in_window, 0) as max_engagement_events,
        engagement_reached.engagement_reached_at

    from contacts

    left join companies
        on contacts.company_id = companies.company_id

    left join consent
        on contacts.contact_id = consent.contact_id

    left join engagement_reached
        on contacts.contact_id = engagement_reached.contact_id

),

criteria as (

    select
        *,
        coalesce({{ smarketing.in_list('company_industry', a['icp']['industry']) }}, false) as meets_icp_industry,
        coalesce({{ smarketing.in_list('company_size_band', a['icp']['company_size']) }}, false) as meets_icp_company_size,
        coalesce({{ smarketing.in_list('country', a['icp']['country']) }}, false) as meets_icp_country,
        coalesce({{ smarketing.in_list('job_role', a['icp']['job_role']) }}, false) as meets_icp_job_role,
        has_valid_email or has_valid_phone as has_valid_contact,
        {% if a['engagement_min_events'] == 0 -%}
            true
        {%- else -%}
            max_engagement_events >= {{ a['engagement_min_events'] }}
        {%- endif %} as meets_engagement

    from profiled

),

scored as (

    select
        *,
        cast(
            case when meets_icp_industry then {{ w['industry'] }} else 0 end
            + case when meets_icp_company_size then {{ w['company_size'] }} else 0 end
            + case when meets_icp_country then {{ w['country'] }} else 0 end
            + case when meets_icp_job_role then {{ w['job_role'] }} else 0 end
            as decimal(5, 2)
        ) as fit_score,
        {% if required -%}
            {% for field in required -%}
                has_{{ field }}{% if not loop.last %} and {% endif %}
            {%- endfor %}
        {%- else -%}
            true
        {%- endif %} as meets_required_fields

    from criteria

),

final as (

    select
        *,
        fit_score >= {{ a['mql_fit_score'] }} as meets_fit_score,
        fit_score >= {{ a['mql_fit_score'] }} and meets_engagement and meets_required_fields as is_mql,
        -- Qualified when the engagement threshold is reached, never before becoming a lead.
        case
            when fit_score >= {{ a['mql_fit_score'] }} and meets_engagement and meets_required_fields
                then
                {%- if a['engagement_min_events'] == 0 %} lead_at
                {%- else %}
                    case when engagement_reached_at > lead_at then engagement_reached_at else lead_at end
                {%- endif %}
        end as qualified_at

    from scored

)

select * from final
