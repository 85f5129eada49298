-- Pulls per repository, week and client (user agent tool and version).
with candidates as (
    {{ dockerdvp_raw_pulls("week", ["user_agent_tool", "user_agent_version"]) }}
    union all
    {{ dockerdvp_report_pulls("stg_dockerdvp__report_trends", "week", [
        ["user_agent_tool", "user_agent_tool"],
        ["cast(null as " ~ dbt.type_string() ~ ")", "user_agent_version"],
    ]) }}
),

preferred as (
    {{ dockerdvp_preferred("candidates", ["period_start"], ["pull_events", "report_trends"]) }}
)

select
    namespace,
    repository,
    period_start as week_start,
    user_agent_tool,
    user_agent_version,
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    source,
    is_complete
from preferred
