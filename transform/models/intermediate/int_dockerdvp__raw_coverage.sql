-- Which weeks and months the raw pull events cover completely, per namespace: the raw files' periods must add up
-- to every day of it. A period the raw events cover only in part (the first or last days of a load, a month
-- whose last week is not complete yet) is counted from a summary view where one exists.
with files as (
    select distinct namespace, timespan_type, file_period_start, file_period_end
    from {{ ref("int_dockerdvp__pull_events_daily") }}
),

periods as (
    select distinct namespace, 'week' as period_type, {{ dockerdvp_week_start("pull_day") }} as period_start
    from {{ ref("int_dockerdvp__pull_events_daily") }}
    union all
    select distinct namespace, 'month' as period_type, {{ dockerdvp_month_start("pull_day") }} as period_start
    from {{ ref("int_dockerdvp__pull_events_daily") }}
),

bounded as (
    select
        namespace,
        period_type,
        period_start,
        case
            when period_type = 'week' then {{ dockerdvp_add_days(6, "period_start") }}
            else {{ dockerdvp_month_end("period_start") }}
        end as period_end
    from periods
),

covered as (
    select
        bounded.namespace,
        bounded.period_type,
        bounded.period_start,
        bounded.period_end,
        files.timespan_type,
        sum({{ dockerdvp_days(
            "greatest(bounded.period_start, files.file_period_start)",
            "least(bounded.period_end, files.file_period_end)") }}) as covered_days
    from bounded
    inner join files
        on files.namespace = bounded.namespace
        and files.file_period_start <= bounded.period_end
        and files.file_period_end >= bounded.period_start
    group by 1, 2, 3, 4, 5
)

select
    namespace,
    period_type,
    period_start,
    period_end,
    max(covered_days) >= {{ dockerdvp_days("period_start", "period_end") }} as is_complete
from covered
group by 1, 2, 3, 4
