-- The raw pull events against the summaries of the same pulls, per repository and period: the repo-summary view
-- (weeks and months) and the trends report (weeks and months). Only periods both sides cover are compared: the
-- raw files cover every day of the period, and the summary has rows for the namespace and period. A repository
-- on one side only counts 0 on the other. The test `dockerdvp_raw_pulls_match_summaries` warns on every row that
-- does not match; docs/reconciliation.md says how to read it.
with raw_pulls as (
    select *
    from ({{ dockerdvp_pulls_by_period("pull_events") }}) as by_period
    where is_complete
),

summaries as (
    select
        source as summary_source,
        namespace,
        period_type,
        period_start,
        repository,
        pulls_by_tag,
        pulls_by_digest,
        version_checks
    from (
        {{ dockerdvp_pulls_by_period("repo_summary") }}
        union all
        {{ dockerdvp_pulls_by_period("report_trends") }}
    ) as by_period
),

compared_periods as (
    select distinct summaries.summary_source, summaries.namespace, summaries.period_type, summaries.period_start
    from summaries
    inner join {{ ref("int_dockerdvp__raw_coverage") }} as coverage
        on {{ dockerdvp_join_on("coverage", "summaries", ["namespace", "period_type", "period_start"]) }}
        and coverage.is_complete
),

repositories as (
    select compared_periods.*, raw_pulls.repository
    from compared_periods
    inner join raw_pulls
        on {{ dockerdvp_join_on("raw_pulls", "compared_periods", ["namespace", "period_type", "period_start"]) }}
    union
    select compared_periods.*, summaries.repository
    from compared_periods
    inner join summaries
        on {{ dockerdvp_join_on("summaries", "compared_periods", ["summary_source", "namespace", "period_type", "period_start"]) }}
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
        on {{ dockerdvp_join_on("raw_pulls", "repositories", ["namespace", "period_type", "period_start", "repository"]) }}
    left join summaries
        on {{ dockerdvp_join_on(
            "summaries", "repositories", ["summary_source", "namespace", "period_type", "period_start", "repository"]
        ) }}
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
