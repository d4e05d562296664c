-- Shown in Dagster as a check on fct_leads.
{{ config(meta={'dagster': {'ref': {'name': 'fct_leads'}}}) }}
-- Marts carry no e-mail, phone or personal-name columns (dim_sales_rep.rep_name, a reduced
-- business name, is the one documented exception); salted hashes (`*_hash`, tested to be hex
-- SHA-256 values) stand in for e-mails where BI needs to join or count people.
-- depends_on: {{ ref('fct_ad_spend_daily') }}
-- depends_on: {{ ref('fct_web_sessions') }}
-- depends_on: {{ ref('fct_leads') }}
-- depends_on: {{ ref('fct_lead_stage_history') }}
-- depends_on: {{ ref('fct_lead_to_sale') }}
-- depends_on: {{ ref('kpi_weekly') }}
-- depends_on: {{ ref('dim_date') }}
-- depends_on: {{ ref('dim_campaign') }}
-- depends_on: {{ ref('dim_channel') }}
-- depends_on: {{ ref('dim_sales_rep') }}

select
    table_name,
    column_name

from information_schema.columns

where table_schema = '{{ ref("fct_leads").schema }}'
    and lower(column_name) not like '%\_hash' escape '\'
    and (
        lower(column_name) like '%email%'
        or lower(column_name) like '%phone%'
        or lower(column_name) in ('first_name', 'last_name', 'full_name', 'contact_name', 'name')
        or (lower(column_name) like '%name' and lower(column_name) not in (
            'rep_name', 'campaign_name', 'ad_group_name', 'account_name'
        ))
    )
