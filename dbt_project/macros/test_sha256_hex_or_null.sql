{#- Generic test: every non-null value is a lower-case hex SHA-256 (64 characters), e.g. a salted
    hash column standing in for personal data. -#}
{% test sha256_hex_or_null(model, column_name) %}

select {{ column_name }}

from {{ model }}

where {{ column_name }} is not null
    and not {{ smarketing.regexp_matches(column_name, '^[0-9a-f]{64}$') }}

{% endtest %}
