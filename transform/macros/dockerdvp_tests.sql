{#
  dockerdvp_unique_key: each combination of `columns` appears once, and none of them is null except those in
  `nullable` (where null is a value of its own, e.g. the tag of pulls by digest). Failing rows: the key, how many
  rows have it, and how many of them have a null in a non-nullable key column.
#}
{% test dockerdvp_unique_key(model, columns, nullable=[]) %}
{%- set required = [] -%}
{%- for column in columns if column not in nullable -%}{%- do required.append(column) -%}{%- endfor -%}
select
    {{ columns | join(", ") }},
    count(*) as rows_with_this_key,
    sum(case when {% for column in required %}{{ column }} is null{{ " or " if not loop.last }}{% else %}1 = 0{% endfor %} then 1 else 0 end) as rows_with_a_null_key
from {{ model }}
group by {{ columns | join(", ") }}
having count(*) > 1
    or sum(case when {% for column in required %}{{ column }} is null{{ " or " if not loop.last }}{% else %}1 = 0{% endfor %} then 1 else 0 end) > 0
{% endtest %}


{#
  dockerdvp_recent_weeks: every namespace in the model has a row for the last completed week (Monday to Sunday
  before the week of `dockerdvp_as_of_date`, today by default), allowing `dockerdvp_freshness_grace_days` for
  Docker to publish it. Failing rows: the namespace, its newest week and the week expected.
#}
{% test dockerdvp_recent_weeks(model, column_name) %}
with newest as (
    select namespace, max({{ column_name }}) as newest_week
    from {{ model }}
    group by namespace
),

expected as (
    select {{ dockerdvp_add_days(-7, dockerdvp_week_start(dockerdvp_add_days(-(var("dockerdvp_freshness_grace_days") | int), dockerdvp_as_of_date()))) }} as last_completed_week
)

select newest.namespace, newest.newest_week, expected.last_completed_week
from newest
cross join expected
where newest.newest_week < expected.last_completed_week
{% endtest %}
