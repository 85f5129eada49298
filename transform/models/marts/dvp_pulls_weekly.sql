-- Pulls per repository and week: from the raw pull events where they were extracted, else from the repo-summary
-- view, else from the trends report (`source` says which).
with candidates as (
    {{ dockerdvp_raw_pulls("week") }}
    union all
    {{ dockerdvp_summary_pulls("stg_dockerdvp__repo_summary", "week") }}
    union all
    {{ dockerdvp_report_pulls("stg_dockerdvp__report_trends", "week") }}
),

preferred as (
    {{ dockerdvp_preferred("candidates", ["period_start"], ["pull_events", "repo_summary", "report_trends"]) }}
)

select
    namespace,
    repository,
    period_start as week_start,
    {{ dockerdvp_add_days(6, "period_start") }} as week_end,
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    source,
    is_complete
from preferred
