-- The engine's own speed: the core joins of the marts as one plain DuckDB script over the raw tables.
-- Sessions to leads within the look-back window, leads to deals and store purchases, weekly funnel by
-- channel. No staging, no contracts, no tests: the floor the pipeline's dbt stage is compared with.
create or replace temp table ref_visitor_leads as
select distinct f.anonymous_id, c.contact_id, c.became_lead_at
from raw_web.form_submissions f
join raw_crm.contacts c on lower(trim(f.email)) = c.email;

create or replace temp table ref_lead_channel as
select l.contact_id,
       arg_min(
           case
               when s.landing_page_url like '%gclid=%' then 'Paid Search'
               when s.landing_page_url like '%utm_medium=paid%' then 'Paid Social'
               when s.landing_page_url like '%utm_medium=email%' then 'Email'
               when s.referrer_url like '%google.%' then 'Organic Search'
               when s.referrer_url like '%facebook.%' or s.referrer_url like '%linkedin.%' then 'Organic Social'
               when s.referrer_url is not null then 'Referral'
               else 'Direct'
           end,
           s.session_started_at
       ) as channel,
       count(*) as sessions_in_window
from ref_visitor_leads l
join raw_web.sessions s
  on s.anonymous_id = l.anonymous_id
 and s.session_started_at between l.became_lead_at - interval 90 day and l.became_lead_at
group by l.contact_id;

create or replace temp table ref_sales as
select contact_id, closed_at as sold_at, amount from raw_crm.deals where deal_stage = 'closedwon'
union all
select c.contact_id, p.purchased_at, p.amount
from raw_store.purchases p
join raw_crm.contacts c on p.customer_email_sha256 = sha256(c.email);

create or replace temp table ref_funnel as
with customers as (select contact_id, min(sold_at) as customer_at from ref_sales group by 1),
events as (
    select date_trunc('week', c.became_lead_at) as week, coalesce(ch.channel, 'Offline') as channel,
           1 as leads, (c.became_mql_at is not null)::int as mqls, (c.became_sql_at is not null)::int as sqls,
           0 as customers
    from raw_crm.contacts c left join ref_lead_channel ch using (contact_id)
    union all
    select date_trunc('week', cu.customer_at), coalesce(ch.channel, 'Offline'), 0, 0, 0, 1
    from customers cu left join ref_lead_channel ch using (contact_id)
)
select week, channel, sum(leads) leads, sum(mqls) mqls, sum(sqls) sqls, sum(customers) customers
from events group by all;

select count(*) as funnel_rows, sum(leads) as leads, sum(customers) as customers from ref_funnel;
