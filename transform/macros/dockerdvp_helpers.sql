{#- Small expressions every layer shares, written with dbt's cross-database macros. -#}

{#- `owner/name` of a repository: the column as it is when it already holds a `/`, else prefixed with the first
    non-null namespace column (the file's Namespace column, then the namespace the data was exported for). -#}
{% macro dockerdvp_full_repository(repository, namespaces) %}
case
    when {{ repository }} like '%/%' then {{ repository }}
    when {{ repository }} is not null then {{ dbt.concat(["coalesce(" ~ namespaces | join(", ") ~ ")", "'/'", repository]) }}
end
{%- endmacro %}


{#- The Monday that starts the (ISO) week of a date. On Snowflake this needs the default WEEK_START (0 or 1). -#}
{% macro dockerdvp_week_start(day) %}
cast({{ dbt.date_trunc("week", day) }} as date)
{%- endmacro %}


{% macro dockerdvp_month_start(day) %}
cast({{ dbt.date_trunc("month", day) }} as date)
{%- endmacro %}


{% macro dockerdvp_add_days(days, day) %}
cast({{ dbt.dateadd("day", days, day) }} as date)
{%- endmacro %}


{% macro dockerdvp_month_end(month_start) %}
cast({{ dbt.last_day(month_start, "month") }} as date)
{%- endmacro %}


{#- Days from `first` to `last`, both included. -#}
{% macro dockerdvp_days(first, last) %}
({{ dbt.datediff(first, last, "day") }} + 1)
{%- endmacro %}


{#- The tag a pull event is about: its Tag, else its Reference when that is a tag (a digest holds a `:`), so a
    version check (whose Tag Docker may leave empty) counts for the tag it checked; null for a pull by digest. -#}
{% macro dockerdvp_event_tag(tag, reference) %}
coalesce(
    case when {{ tag }} <> '' then {{ tag }} end,
    case when {{ reference }} <> '' and {{ reference }} not like '%:%' then {{ reference }} end
)
{%- endmacro %}


{#- `numerator / denominator` as a float, null when the denominator is 0 or null. -#}
{% macro dockerdvp_ratio(numerator, denominator) %}
cast({{ numerator }} as {{ dbt.type_float() }}) / nullif(cast({{ denominator }} as {{ dbt.type_float() }}), 0)
{%- endmacro %}


{#- "Today" for the freshness test: var `dockerdvp_as_of_date` (YYYY-MM-DD) or the warehouse's current date. -#}
{% macro dockerdvp_as_of_date() %}
{%- if var("dockerdvp_as_of_date", none) -%}
    cast('{{ var("dockerdvp_as_of_date") }}' as date)
{%- else -%}
    cast({{ dbt.current_timestamp() }} as date)
{%- endif -%}
{% endmacro %}


{#-
  dockerdvp_preferred: the rows of the best source of each (namespace, period).

  `candidates` is a relation (a CTE) of rows from several sources, each row with the `namespace`, the period
  column(s) in `period`, a `source` and `is_complete` (whether the source covers the whole period). For each
  namespace and period the rows of one source are kept: a complete source first, then the order of `sources`
  (best first). So a week read from the raw pull events never mixes with the same week from a summary view,
  which would count its pulls twice.
-#}
{% macro dockerdvp_preferred(candidates, period, sources) %}
{%- set partition = ["namespace"] + period -%}
select {{ candidates }}.*
from {{ candidates }}
inner join (
    select
        {{ partition | join(", ") }},
        source,
        row_number() over (
            partition by {{ partition | join(", ") }}
            order by
                case when is_complete then 0 else 1 end,
                case source
                {%- for name in sources %}
                    when '{{ name }}' then {{ loop.index }}
                {%- endfor %}
                end
        ) as preference
    from (select distinct {{ partition | join(", ") }}, source, is_complete from {{ candidates }}) as available
) as chosen
    on chosen.preference = 1
    and chosen.source = {{ candidates }}.source
    {%- for column in partition %}
    and chosen.{{ column }} = {{ candidates }}.{{ column }}
    {%- endfor %}
{% endmacro %}


{#- The condition of a join on equal columns: `left.column = right.column` for each of `columns`, and-ed. -#}
{% macro dockerdvp_join_on(left, right, columns) %}
{%- for column in columns %}
    {{- " and " if not loop.first }}{{ left }}.{{ column }} = {{ right }}.{{ column }}
{%- endfor %}
{%- endmacro %}


{#- `week` / `month` from an export's timespan type (`weeks` / `months`), as the report streams write it. -#}
{% macro dockerdvp_period_type(timespan_type) %}
case {{ timespan_type }} when 'weeks' then 'week' when 'months' then 'month' end
{%- endmacro %}


{#- The counts of a set of pull events (`action`, `events` per row), as integers: pulls_by_tag, pulls_by_digest,
    version_checks and pulls (all three). -#}
{% macro dockerdvp_action_counts(action="action", events="events") %}
cast(sum(case when {{ action }} = 'pull_by_tag' then {{ events }} else 0 end) as {{ dbt.type_bigint() }}) as pulls_by_tag,
    cast(sum(case when {{ action }} = 'pull_by_digest' then {{ events }} else 0 end) as {{ dbt.type_bigint() }}) as pulls_by_digest,
    cast(sum(case when {{ action }} = 'version_check' then {{ events }} else 0 end) as {{ dbt.type_bigint() }}) as version_checks,
    cast(sum(case when {{ action }} in ('pull_by_tag', 'pull_by_digest', 'version_check') then {{ events }} else 0 end) as {{ dbt.type_bigint() }}) as pulls
{%- endmacro %}


{#- The same counts from a report's DATA_DOWNLOADS and VERSION_CHECKS. With a TAG column (`tag`), a null TAG is
    a pull by digest; without one (`tag` none) the split of the downloads is unknown (null). -#}
{% macro dockerdvp_report_counts(tag=none) %}
{%- if tag -%}
cast(sum(case when {{ tag }} is not null then data_downloads else 0 end) as {{ dbt.type_bigint() }}) as pulls_by_tag,
    cast(sum(case when {{ tag }} is null then data_downloads else 0 end) as {{ dbt.type_bigint() }}) as pulls_by_digest,
{%- else -%}
cast(null as {{ dbt.type_bigint() }}) as pulls_by_tag,
    cast(null as {{ dbt.type_bigint() }}) as pulls_by_digest,
{%- endif %}
    cast(sum(version_checks) as {{ dbt.type_bigint() }}) as version_checks,
    cast(sum(coalesce(data_downloads, 0) + coalesce(version_checks, 0)) as {{ dbt.type_bigint() }}) as pulls
{%- endmacro %}


{#- The same counts from a summary view's columns. -#}
{% macro dockerdvp_summary_counts() %}
cast(sum(pull_by_tag) as {{ dbt.type_bigint() }}) as pulls_by_tag,
    cast(sum(pull_by_digest) as {{ dbt.type_bigint() }}) as pulls_by_digest,
    cast(sum(version_check) as {{ dbt.type_bigint() }}) as version_checks,
    cast(sum(coalesce(pull_by_tag, 0) + coalesce(pull_by_digest, 0) + coalesce(version_check, 0)) as {{ dbt.type_bigint() }}) as pulls
{%- endmacro %}
