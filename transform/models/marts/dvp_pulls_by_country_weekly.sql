-- Pulls per repository, week and country of the pulling IPs.
with candidates as (
    {{ dockerdvp_raw_pulls("week", ["country"]) }}
    union all
    {{ dockerdvp_summary_pulls("stg_dockerdvp__geo_repo_summary", "week", [["country", "country"]]) }}
    union all
    {{ dockerdvp_report_pulls("stg_dockerdvp__report_trends", "week", [["country", "country"]]) }}
),

preferred as (
    {{ dockerdvp_preferred("candidates", ["period_start"], ["pull_events", "geo_repo_summary", "report_trends"]) }}
)

select
    namespace,
    repository,
    period_start as week_start,
    country,
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    source,
    is_complete
from preferred
