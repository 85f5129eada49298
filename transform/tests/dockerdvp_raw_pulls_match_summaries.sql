-- The raw pull events and the summaries of the same pulls agree, per repository and period
-- (docs/reconciliation.md). Warns, with the rows that differ (stored in the test's audit table).
{{ config(severity="warn", store_failures=true) }}

select *
from {{ ref("dvp_reconciliation") }}
where not matches
