{#-
  The candidate rows of the weekly and monthly marts, one macro per source. Each gives the same columns, in the
  same order: namespace, repository (`owner/name`), period_start, the `dimensions`, pulls_by_tag, pulls_by_digest,
  version_checks, pulls, source, is_complete. A mart unions the sources it can use and keeps the best one of each
  namespace and period (`dockerdvp_preferred`).
-#}

{#- The raw pull events (`pull_events`), by week or month; complete when their files cover the whole period. -#}
{% macro dockerdvp_raw_pulls(period_type, dimensions=[]) %}
{%- set period_start = dockerdvp_week_start("daily.pull_day") if period_type == "week" else dockerdvp_month_start("daily.pull_day") -%}
select
    raw_pulls.*,
    'pull_events' as source,
    coalesce(coverage.is_complete, false) as is_complete
from (
    select
        daily.namespace,
        daily.repository,
        {{ period_start }} as period_start,
        {%- for dimension in dimensions %}
        daily.{{ dimension }},
        {%- endfor %}
        {{ dockerdvp_action_counts("daily.action", "daily.events") }}
    from {{ ref("int_dockerdvp__pull_events_daily") }} as daily
    where daily.counted
    group by {% for i in range(3 + dimensions | length) %}{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}
) as raw_pulls
left join {{ ref("int_dockerdvp__raw_coverage") }} as coverage
    on coverage.namespace = raw_pulls.namespace
    and coverage.period_type = '{{ period_type }}'
    and coverage.period_start = raw_pulls.period_start
{% endmacro %}


{#- A summary view of the legacy export (`repo_summary`, `summary`, `geo_repo_summary`), for one timespan type.
    `dimensions`: [expression, name] pairs. -#}
{% macro dockerdvp_summary_pulls(model, period_type, dimensions=[]) %}
select
    namespace,
    {{ dockerdvp_full_repository("repository", ["repository_namespace", "namespace"]) }} as repository,
    period_start,
    {%- for dimension in dimensions %}
    {{ dimension[0] }} as {{ dimension[1] }},
    {%- endfor %}
    {{ dockerdvp_summary_counts() }},
    '{{ model.replace("stg_dockerdvp__", "") }}' as source,
    true as is_complete
from {{ ref(model) }}
where timespan_type = '{{ period_type }}s'
group by {% for i in range(3 + dimensions | length) %}{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}
{% endmacro %}


{#- A report of the DVP program's catalogue (`report_trends`, `report_tracked_companies`), for one granularity.
    `dimensions`: [expression, name] pairs. Tracked companies have no TAG: their downloads are not split. -#}
{% macro dockerdvp_report_pulls(model, period_type, dimensions=[]) %}
{%- set trends = model == "stg_dockerdvp__report_trends" -%}
select
    namespace,
    {#- only the trends report has the repository's NAMESPACE column -#}
    {{ dockerdvp_full_repository("image_repository", ["repository_namespace", "namespace"] if trends else ["namespace"]) }} as repository,
    period_start,
    {%- for dimension in dimensions %}
    {{ dimension[0] }} as {{ dimension[1] }},
    {%- endfor %}
    {{ dockerdvp_report_counts("tag" if trends else none) }},
    '{{ model.replace("stg_dockerdvp__", "") }}' as source,
    true as is_complete
from {{ ref(model) }}
where granularity = '{{ period_type }}'
group by {% for i in range(3 + dimensions | length) %}{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}
{% endmacro %}


{#- A report's CLOUD_SERVICE_PROVIDER as the raw events write it: `no csp` is no cloud provider (null). -#}
{% macro dockerdvp_report_cloud(column="cloud_provider") %}
case when lower({{ column }}) = 'no csp' then null else {{ column }} end
{%- endmacro %}
