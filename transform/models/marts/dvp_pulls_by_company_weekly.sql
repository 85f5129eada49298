-- Pulls per repository, week and company pulling (the domain and owner of the pulling IPs). Where only the
-- tracked-companies report was extracted, its companies (domains) only.
with candidates as (
    {{ dockerdvp_raw_pulls("week", ["domain", "owner"]) }}
    union all
    {{ dockerdvp_report_pulls("stg_dockerdvp__report_tracked_companies", "week", [
        ["domain", "domain"],
        ["cast(null as " ~ dbt.type_string() ~ ")", "owner"],
    ]) }}
),

preferred as (
    {{ dockerdvp_preferred("candidates", ["period_start"], ["pull_events", "report_tracked_companies"]) }}
)

select
    namespace,
    repository,
    period_start as week_start,
    domain,
    owner,
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    source,
    is_complete
from preferred
