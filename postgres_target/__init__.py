"""PostgreSQL as a warehouse and serving target, without Dagster.

- ``connection``: connection settings from environment variables, and DSN redaction for logs.
- ``copy``: copy DuckDB tables into PostgreSQL (types mapped, COPY in bulk, row counts checked).
- ``publish``: publish the marts into a ``marts`` schema atomically, readable by a read-only BI role.
"""
