-- The raw pull events, counted per day and per everything the marts group by: one scan of the largest table.
-- `counted` keeps a day's pulls once when they were loaded from weekly and from monthly raw files (the
-- `raw_timespan_type` setting changed between runs): the weekly files' rows count.
with daily as (
    select
        namespace,
        timespan_type,
        period_start as file_period_start,
        period_end as file_period_end,
        {{ dockerdvp_full_repository("repository", ["repository_namespace", "namespace"]) }} as repository,
        coalesce(action_day, cast(pulled_at as date), period_start) as pull_day,
        action,
        {{ dockerdvp_event_tag("tag", "reference") }} as tag,
        user_agent_tool,
        user_agent_version,
        country,
        cloud_provider,
        ip_type,
        domain,
        owner,
        cast(count(*) as {{ dbt.type_bigint() }}) as events
    from {{ ref("stg_dockerdvp__pull_events") }}
    group by 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
)

select
    daily.*,
    timespan_type = max(timespan_type) over (partition by namespace, pull_day) as counted
from daily
