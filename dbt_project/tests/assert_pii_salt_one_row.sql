-- The salt table holds exactly one non-empty salt: marts join it, so no row (or two) would lose or
-- duplicate leads. The pipeline writes it from SMARKETING_PII_SALT before dbt runs.

with

salts as (

    select count(*) as salt_count, min(length(pii_salt)) as shortest

    from {{ ref('stg_pii__salt') }}

)

select * from salts

where salt_count <> 1
    or shortest < 8
