{%- set a = smarketing.agreement() -%}
{%- set required = a['required_fields'] -%}
{%- set profile_criteria = [
    ('icp_industry', 'meets_icp_industry', "coalesce(company_industry, 'unknown')", 'industry not in the ideal customer profile'),
    ('icp_company_size', 'meets_icp_company_size', 'company_size_band', 'company size not in the ideal customer profile'),
    ('icp_country', 'meets_icp_country', "coalesce(country, 'unknown')", 'country not in the ideal customer profile'),
    ('icp_job_role', 'meets_icp_job_role', "coalesce(job_role, 'unknown')", 'job role not in the ideal customer profile'),
] -%}
{%- set field_criteria = [
    ('valid_contact', 'has_valid_contact', 'no valid e-mail address or phone number'),
    ('company', 'has_company', 'no company'),
    ('consent', 'has_consent', 'no marketing consent'),
    ('source', 'has_source', 'original source unknown'),
] -%}

with

leads as (

    select * from {{ ref('fct_leads') }}

),

not_qualified as (

    select * from leads where not is_mql

),

failed_criteria as (

    -- Why marketing's lead did not qualify: every criterion it failed, one row each.
    {%- for criterion, flag, value, reason in profile_criteria %}
    select
        lead_id, channel, '{{ criterion }}' as criterion,
        cast({{ value }} as {{ dbt.type_string() }}) as criterion_value,
        '{{ reason }}' as reason, lead_at as rejected_at
    from not_qualified
    where not meets_fit_score and not {{ flag }}
    union all
    {%- endfor %}
    select
        lead_id, channel, 'fit_score' as criterion,
        cast(fit_score as {{ dbt.type_string() }}) as criterion_value,
        'fit score below {{ a["mql_fit_score"] }}' as reason, lead_at as rejected_at
    from not_qualified
    where not meets_fit_score
    union all
    select
        lead_id, channel, 'engagement' as criterion,
        cast(engagement_events as {{ dbt.type_string() }}) as criterion_value,
        'fewer than {{ a["engagement_min_events"] }} visits and form submissions within {{ a["engagement_window_days"] }} days'
            as reason,
        lead_at as rejected_at
    from not_qualified
    where not meets_engagement
    {%- for criterion, flag, reason in field_criteria if criterion in required %}
    union all
    select
        lead_id, channel, 'required_field_{{ criterion }}' as criterion,
        'missing' as criterion_value,
        '{{ reason }}' as reason, lead_at as rejected_at
    from not_qualified
    where not {{ flag }}
    {%- endfor %}

),

sales_rejections as (

    -- Why sales turned an MQL down, in sales' own words, and whether that reason is on the agreed list.
    select
        lead_id, channel, 'sales_decision' as criterion,
        cast(coalesce(rejection_reason, '(none given)') as {{ dbt.type_string() }}) as criterion_value,
        case
            when rejection_reason is null then 'rejected by sales without a reason'
            when is_agreed_rejection_reason then rejection_reason
            else 'rejected by sales with a reason not on the agreed list'
        end as reason,
        sales_decided_at as rejected_at,
        is_agreed_rejection_reason
    from leads
    where sales_decision = 'rejected'

),

unioned as (

    select
        'qualification' as rejected_by, lead_id, channel, criterion, criterion_value, reason, rejected_at,
        cast(null as boolean) as is_agreed_reason
    from failed_criteria
    union all
    select
        'sales' as rejected_by, lead_id, channel, criterion, criterion_value, reason, rejected_at,
        is_agreed_rejection_reason as is_agreed_reason
    from sales_rejections

),

final as (

    select
        cast({{ smarketing.surrogate_key(['lead_id', 'criterion']) }} as {{ dbt.type_string() }}) as rejection_id,
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(rejected_by as {{ dbt.type_string() }}) as rejected_by,
        cast(criterion as {{ dbt.type_string() }}) as criterion,
        cast(criterion_value as {{ dbt.type_string() }}) as criterion_value,
        cast(reason as {{ dbt.type_string() }}) as reason,
        cast(is_agreed_reason as boolean) as is_agreed_reason,
        cast(rejected_at as timestamp) as rejected_at,
        {{ smarketing.iso_week_start(smarketing.to_reporting_tz('rejected_at')) }} as rejection_week_start_date,
        cast('{{ a["version"] }}' as {{ dbt.type_string() }}) as agreement_version

    from unioned

)

select * from final
