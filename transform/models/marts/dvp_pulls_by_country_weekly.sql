-- Pulls per repository, week and country of the pulling IPs.
{{ dockerdvp_pulls_mart("week", ["country"], sources=["geo_repo_summary", "report_trends"]) }}
