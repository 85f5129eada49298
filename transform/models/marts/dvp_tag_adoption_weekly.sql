-- Each tag's share of its repository's pulls per week. A null tag is the pulls by digest (no tag known).
with candidates as (
    {{ dockerdvp_raw_pulls("week", ["tag"]) }}
    union all
    {{ dockerdvp_summary_pulls("stg_dockerdvp__summary", "week", [[dockerdvp_event_tag("tag", "reference"), "tag"]]) }}
    union all
    {{ dockerdvp_report_pulls("stg_dockerdvp__report_trends", "week", [["tag", "tag"]]) }}
),

preferred as (
    {{ dockerdvp_preferred("candidates", ["period_start"], ["pull_events", "summary", "report_trends"]) }}
)

select
    namespace,
    repository,
    period_start as week_start,
    tag,
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    cast(sum(pulls) over (partition by namespace, repository, period_start) as {{ dbt.type_bigint() }}) as repository_pulls,
    {{ dockerdvp_ratio("pulls", "sum(pulls) over (partition by namespace, repository, period_start)") }} as share_of_pulls,
    source,
    is_complete
from preferred
