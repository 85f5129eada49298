-- Pulls per repository and month: from the raw pull events where they cover the whole month, else from the
-- repo-summary view, else from the monthly trends report, else from the raw events of part of the month
-- (`is_complete` false).
{{ dockerdvp_pulls_mart("month", sources=["repo_summary", "report_trends"], period_end=true) }}
