-- The technographic report: images pulled together with each of the publisher's images, per period, and how
-- many companies (domains) the technographic-companies report names for the pair.
{% set pair_and_period -%}
        namespace,
        {{ dockerdvp_full_repository("dvpp_image", ["namespace"]) }} as repository,
        paired_image,
        granularity as period_type,
        period_start
{%- endset %}
with pairings as (
    select
        {{ pair_and_period }},
        max(period_end) as period_end,
        -- one row per pair and period; max() keeps one should a period's files repeat a pair
        max(users) as users,
        max(total_pullers) as total_pullers,
        max(pct_users) as pct_users,
        max(domains) as domains,
        max(total_domains) as total_domains,
        max(pct_domains) as pct_domains
    from {{ ref("stg_dockerdvp__report_technographic") }}
    group by 1, 2, 3, 4, 5
),

companies as (
    select
        {{ pair_and_period }},
        count(distinct domain) as named_companies
    from {{ ref("stg_dockerdvp__report_technographic_companies") }}
    group by 1, 2, 3, 4, 5
)

select
    pairings.*,
    cast(coalesce(companies.named_companies, 0) as {{ dbt.type_bigint() }}) as named_companies
from pairings
left join companies
    on {{ dockerdvp_join_on("companies", "pairings", ["namespace", "repository", "paired_image", "period_type", "period_start"]) }}
