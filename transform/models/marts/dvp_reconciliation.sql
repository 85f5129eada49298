-- The raw pull events against the summaries of the same pulls, per repository and period: the repo-summary view
-- (weeks and months) and the trends report (weeks and months). Only periods both sides cover are compared: the
-- raw files cover every day of the period, and the summary has rows for the namespace and period. A repository
-- on one side only counts 0 on the other. The test `dockerdvp_raw_pulls_match_summaries` warns on every row that
-- does not match; docs/reconciliation.md says how to read it.
with raw_pulls as (
    select namespace, 'week' as period_type, period_start, repository, pulls_by_tag, pulls_by_digest, version_checks
    from ({{ dockerdvp_raw_pulls("week") }}) as weekly
    where is_complete
    union all
    select namespace, 'month' as period_type, period_start, repository, pulls_by_tag, pulls_by_digest, version_checks
    from ({{ dockerdvp_raw_pulls("month") }}) as monthly
    where is_complete
),

summaries as (
    select
        'repo_summary' as summary_source,
        namespace,
        {{ dockerdvp_period_type("timespan_type") }} as period_type,
        period_start,
        {{ dockerdvp_full_repository("repository", ["repository_namespace", "namespace"]) }} as repository,
        {{ dockerdvp_summary_counts() }}
    from {{ ref("stg_dockerdvp__repo_summary") }}
    group by 1, 2, 3, 4, 5
    union all
    select
        'report_trends' as summary_source,
        namespace,
        granularity as period_type,
        period_start,
        {{ dockerdvp_full_repository("image_repository", ["repository_namespace", "namespace"]) }} as repository,
        {{ dockerdvp_report_counts("tag") }}
    from {{ ref("stg_dockerdvp__report_trends") }}
    group by 1, 2, 3, 4, 5
),

compared_periods as (
    select distinct summaries.summary_source, summaries.namespace, summaries.period_type, summaries.period_start
    from summaries
    inner join {{ ref("int_dockerdvp__raw_coverage") }} as coverage
        on coverage.namespace = summaries.namespace
        and coverage.period_type = summaries.period_type
        and coverage.period_start = summaries.period_start
        and coverage.is_complete
),

repositories as (
    select compared_periods.*, raw_pulls.repository
    from compared_periods
    inner join raw_pulls
        on raw_pulls.namespace = compared_periods.namespace
        and raw_pulls.period_type = compared_periods.period_type
        and raw_pulls.period_start = compared_periods.period_start
    union
    select compared_periods.*, summaries.repository
    from compared_periods
    inner join summaries
        on summaries.summary_source = compared_periods.summary_source
        and summaries.namespace = compared_periods.namespace
        and summaries.period_type = compared_periods.period_type
        and summaries.period_start = compared_periods.period_start
),

compared as (
    select
        repositories.summary_source,
        repositories.namespace,
        repositories.repository,
        repositories.period_type,
        repositories.period_start,
        case
            when repositories.period_type = 'week' then {{ dockerdvp_add_days(6, "repositories.period_start") }}
            else {{ dockerdvp_month_end("repositories.period_start") }}
        end as period_end,
        coalesce(raw_pulls.pulls_by_tag, 0) as raw_pulls_by_tag,
        coalesce(summaries.pulls_by_tag, 0) as summary_pulls_by_tag,
        coalesce(raw_pulls.pulls_by_digest, 0) as raw_pulls_by_digest,
        coalesce(summaries.pulls_by_digest, 0) as summary_pulls_by_digest,
        coalesce(raw_pulls.version_checks, 0) as raw_version_checks,
        coalesce(summaries.version_checks, 0) as summary_version_checks
    from repositories
    left join raw_pulls
        on raw_pulls.namespace = repositories.namespace
        and raw_pulls.period_type = repositories.period_type
        and raw_pulls.period_start = repositories.period_start
        and raw_pulls.repository = repositories.repository
    left join summaries
        on summaries.summary_source = repositories.summary_source
        and summaries.namespace = repositories.namespace
        and summaries.period_type = repositories.period_type
        and summaries.period_start = repositories.period_start
        and summaries.repository = repositories.repository
)

select
    compared.*,
    summary_pulls_by_tag - raw_pulls_by_tag as pulls_by_tag_difference,
    summary_pulls_by_digest - raw_pulls_by_digest as pulls_by_digest_difference,
    summary_version_checks - raw_version_checks as version_checks_difference,
    (
        summary_pulls_by_tag = raw_pulls_by_tag
        and summary_pulls_by_digest = raw_pulls_by_digest
        and summary_version_checks = raw_version_checks
    ) as matches
from compared
