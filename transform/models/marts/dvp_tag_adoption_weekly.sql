-- Each tag's share of its repository's pulls per week. A null tag is the pulls by digest (no tag known).
{% set repository_pulls = "sum(pulls) over (partition by namespace, repository, period_start)" %}
{% set measures -%}
    cast({{ repository_pulls }} as {{ dbt.type_bigint() }}) as repository_pulls,
    {{ dockerdvp_ratio("pulls", repository_pulls) }} as share_of_pulls
{%- endset %}
{{ dockerdvp_pulls_mart("week", ["tag"], sources=[
    ["summary", [dockerdvp_event_tag("tag", "reference")]],
    "report_trends",
], measures=measures) }}
