-- Pulls per repository and month: from the raw pull events where they cover the whole month, else from the
-- repo-summary view, else from the monthly trends report, else from the raw events of part of the month
-- (`is_complete` false).
with candidates as (
    {{ dockerdvp_raw_pulls("month") }}
    union all
    {{ dockerdvp_summary_pulls("stg_dockerdvp__repo_summary", "month") }}
    union all
    {{ dockerdvp_report_pulls("stg_dockerdvp__report_trends", "month") }}
),

preferred as (
    {{ dockerdvp_preferred("candidates", ["period_start"], ["pull_events", "repo_summary", "report_trends"]) }}
)

select
    namespace,
    repository,
    period_start as month_start,
    {{ dockerdvp_month_end("period_start") }} as month_end,
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    source,
    is_complete
from preferred
