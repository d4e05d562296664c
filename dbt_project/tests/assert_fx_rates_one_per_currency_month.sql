-- The fx_rates seed has one rate per currency and month, and one for the reporting currency.

select
    currency_code,
    rate_month,
    count(*) as row_count

from {{ ref('fx_rates') }}

group by currency_code, rate_month

having count(*) > 1
