-- Unique IP addresses per repository (and per namespace) and period, from the summary views; where a namespace
-- has none for a period, from the JSON pull statistics. Unique counts do not add up across repositories or
-- periods: each row is Docker's own count.
with candidates as (
    -- rows of one repository and period differ by Owner, whose IPs are distinct: they add up
    {{ dockerdvp_unique_ips(
        "repo_summary", "sum(unique_ip_count)", dockerdvp_full_repository("repository", ["repository_namespace", "namespace"])
    ) }}
    union all
    {{ dockerdvp_unique_ips("namespace_summary", "sum(unique_ip_count)") }}
    union all
    {{ dockerdvp_unique_ips(
        "repository_pull_stats", "max(ip_count)", dockerdvp_full_repository("repo", ["namespace"]), where="country = '*'"
    ) }}
    union all
    {{ dockerdvp_unique_ips("namespace_pull_stats", "max(ip_count)", where="repo = '*' and country = '*'") }}
),

preferred as (
    {{ dockerdvp_preferred(
        "candidates",
        ["level", "period_type", "period_start"],
        ["repo_summary", "namespace_summary", "repository_pull_stats", "namespace_pull_stats"],
    ) }}
)

select namespace, level, repository, period_type, period_start, period_end, unique_ips, source
from preferred
