-- Pulls per repository, week, cloud provider of the pulling IPs (`host`) and IP type.
with candidates as (
    {{ dockerdvp_raw_pulls("week", ["cloud_provider", "ip_type"]) }}
    union all
    {{ dockerdvp_report_pulls("stg_dockerdvp__report_trends", "week", [
        [dockerdvp_report_cloud(), "cloud_provider"],
        ["cast(null as " ~ dbt.type_string() ~ ")", "ip_type"],
    ]) }}
),

preferred as (
    {{ dockerdvp_preferred("candidates", ["period_start"], ["pull_events", "report_trends"]) }}
)

select
    namespace,
    repository,
    period_start as week_start,
    cloud_provider,
    ip_type,
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    source,
    is_complete
from preferred
