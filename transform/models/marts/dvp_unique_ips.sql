-- Unique IP addresses per repository (and per namespace) and period, from the summary views; where a namespace
-- has none for a period, from the JSON pull statistics. Unique counts do not add up across repositories or
-- periods: each row is Docker's own count.
with candidates as (
    select
        namespace,
        'repository' as level,
        {{ dockerdvp_full_repository("repository", ["repository_namespace", "namespace"]) }} as repository,
        {{ dockerdvp_period_type("timespan_type") }} as period_type,
        period_start,
        max(period_end) as period_end,
        -- rows of one repository and period differ by Owner, whose IPs are distinct
        cast(sum(unique_ip_count) as {{ dbt.type_bigint() }}) as unique_ips,
        'repo_summary' as source,
        true as is_complete
    from {{ ref("stg_dockerdvp__repo_summary") }}
    group by 1, 2, 3, 4, 5
    union all
    select
        namespace,
        'namespace' as level,
        cast(null as {{ dbt.type_string() }}) as repository,
        {{ dockerdvp_period_type("timespan_type") }} as period_type,
        period_start,
        max(period_end) as period_end,
        cast(sum(unique_ip_count) as {{ dbt.type_bigint() }}) as unique_ips,
        'namespace_summary' as source,
        true as is_complete
    from {{ ref("stg_dockerdvp__namespace_summary") }}
    group by 1, 2, 3, 4, 5
    union all
    select
        namespace,
        'repository' as level,
        {{ dockerdvp_full_repository("repo", ["namespace"]) }} as repository,
        {{ dockerdvp_period_type("timespan_type") }} as period_type,
        period_start,
        max(period_end) as period_end,
        cast(max(ip_count) as {{ dbt.type_bigint() }}) as unique_ips,
        'repository_pull_stats' as source,
        true as is_complete
    from {{ ref("stg_dockerdvp__repository_pull_stats") }}
    where country = '*'
    group by 1, 2, 3, 4, 5
    union all
    select
        namespace,
        'namespace' as level,
        cast(null as {{ dbt.type_string() }}) as repository,
        {{ dockerdvp_period_type("timespan_type") }} as period_type,
        period_start,
        max(period_end) as period_end,
        cast(max(ip_count) as {{ dbt.type_bigint() }}) as unique_ips,
        'namespace_pull_stats' as source,
        true as is_complete
    from {{ ref("stg_dockerdvp__namespace_pull_stats") }}
    where repo = '*' and country = '*'
    group by 1, 2, 3, 4, 5
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
