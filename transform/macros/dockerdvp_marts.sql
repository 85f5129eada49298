{#-
  The pulls marts (dvp_pulls_weekly, dvp_pulls_monthly, dvp_pulls_by_*_weekly, dvp_tag_adoption_weekly) and the
  reconciliation count the same pulls from up to three kinds of source: the raw pull events (`pull_events`), a
  summary view of the legacy export, a report of the DVP program. Each source's pulls have the same columns, in the
  same order: namespace, repository (`owner/name`), period_start, the dimensions, pulls_by_tag, pulls_by_digest,
  version_checks, pulls, source, is_complete.
-#}

{#-
  dockerdvp_pulls_mart: the body of a pulls mart. Per repository, period (`period_type`: week or month) and
  `dimensions` (column names), the pulls of one source per namespace and period (`dockerdvp_preferred`): the raw
  pull events, else the `sources` in their order.

  - `sources`: a summary view or report (its name without `stg_dockerdvp__`), whose dimensions are columns of the
    same names, or a [name, expressions] pair with an SQL expression for each dimension (none: the source does not
    know it, null);
  - `period_end`: also the period's last day (`week_end` / `month_end`);
  - `measures`: more columns after the counts (select-list SQL).
-#}
{% macro dockerdvp_pulls_mart(period_type, dimensions=[], sources=[], period_end=false, measures=none) %}
with candidates as (
    {{ dockerdvp_raw_pulls(period_type, dimensions) }}
    {%- for entry in sources %}
    {%- set name, expressions = (entry, dimensions) if entry is string else entry %}
    {%- set named = [] %}
    {%- for expression in expressions %}
        {%- do named.append([
            expression if expression is not none else "cast(null as " ~ dbt.type_string() ~ ")",
            dimensions[loop.index0],
        ]) %}
    {%- endfor %}
    union all
    {{ dockerdvp_summarized_pulls(name, period_type, named) }}
    {%- endfor %}
),

preferred as (
    {%- set names = ["pull_events"] %}
    {%- for entry in sources %}{% do names.append(entry if entry is string else entry[0]) %}{% endfor %}
    {{ dockerdvp_preferred("candidates", ["period_start"], names) }}
)

select
    namespace,
    repository,
    period_start as {{ period_type }}_start,
    {%- if period_end %}
    {{ dockerdvp_add_days(6, "period_start") if period_type == "week" else dockerdvp_month_end("period_start") }} as {{ period_type }}_end,
    {%- endif %}
    {%- for dimension in dimensions %}
    {{ dimension }},
    {%- endfor %}
    pulls_by_tag,
    pulls_by_digest,
    version_checks,
    pulls,
    {%- if measures %}
    {{ measures }},
    {%- endif %}
    source,
    is_complete
from preferred
{% endmacro %}


{#- The pulls of one source (`pull_events`, a summary view or a report) by week and by month: `period_type`, then
    the source's columns. -#}
{% macro dockerdvp_pulls_by_period(source) %}
{%- for period_type in ["week", "month"] %}
{{ "union all" if not loop.first }}
select '{{ period_type }}' as period_type, pulls.*
from (
    {%- if source == "pull_events" %}
    {{ dockerdvp_raw_pulls(period_type) }}
    {%- else %}
    {{ dockerdvp_summarized_pulls(source, period_type) }}
    {%- endif %}
) as pulls
{%- endfor %}
{% endmacro %}


{#- The raw pull events (`pull_events`), by week or month; complete when their files cover the whole period.
    `dimensions`: column names of int_dockerdvp__pull_events_daily. -#}
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


{#- A summary view of the legacy export (`repo_summary`, `summary`, `geo_repo_summary`) or a report of the DVP
    program's catalogue (`report_trends`, `report_tracked_companies`), for one period type; complete by definition.
    `dimensions`: [expression, name] pairs. Only the trends report has the repository's NAMESPACE column and a TAG:
    the tracked companies' downloads are not split. -#}
{% macro dockerdvp_summarized_pulls(source, period_type, dimensions=[]) %}
{%- set report = source.startswith("report_") -%}
{%- set trends = source == "report_trends" -%}
{%- set namespaces = ["namespace"] if report and not trends else ["repository_namespace", "namespace"] -%}
select
    namespace,
    {{ dockerdvp_full_repository("image_repository" if report else "repository", namespaces) }} as repository,
    period_start,
    {%- for dimension in dimensions %}
    {{ dimension[0] }} as {{ dimension[1] }},
    {%- endfor %}
    {{ dockerdvp_report_counts("tag" if trends else none) if report else dockerdvp_summary_counts() }},
    '{{ source }}' as source,
    true as is_complete
from {{ ref("stg_dockerdvp__" ~ source) }}
{%- if report %}
where granularity = '{{ period_type }}'
{%- else %}
where timespan_type = '{{ period_type }}s'
{%- endif %}
group by {% for i in range(3 + dimensions | length) %}{{ loop.index }}{{ ", " if not loop.last }}{% endfor %}
{% endmacro %}


{#- One source of dvp_unique_ips (a staging model, without `stg_dockerdvp__`): Docker's unique IPs (`unique_ips`,
    an aggregate) per namespace, repository (`repository`, an expression; none: the namespace's own count) and
    period, of the rows `where` says. -#}
{% macro dockerdvp_unique_ips(source, unique_ips, repository=none, where=none) %}
select
    namespace,
    '{{ "namespace" if repository is none else "repository" }}' as level,
    {{ "cast(null as " ~ dbt.type_string() ~ ")" if repository is none else repository }} as repository,
    {{ dockerdvp_period_type("timespan_type") }} as period_type,
    period_start,
    max(period_end) as period_end,
    cast({{ unique_ips }} as {{ dbt.type_bigint() }}) as unique_ips,
    '{{ source }}' as source,
    true as is_complete
from {{ ref("stg_dockerdvp__" ~ source) }}
{%- if where %}
where {{ where }}
{%- endif %}
group by 1, 2, 3, 4, 5
{% endmacro %}


{#- A report's CLOUD_SERVICE_PROVIDER as the raw events write it: `no csp` is no cloud provider (null). -#}
{% macro dockerdvp_report_cloud(column="cloud_provider") %}
case when lower({{ column }}) = 'no csp' then null else {{ column }} end
{%- endmacro %}
