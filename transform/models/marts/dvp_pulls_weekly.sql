-- Pulls per repository and week: from the raw pull events where they were extracted, else from the repo-summary
-- view, else from the trends report (`source` says which).
{{ dockerdvp_pulls_mart("week", sources=["repo_summary", "report_trends"], period_end=true) }}
