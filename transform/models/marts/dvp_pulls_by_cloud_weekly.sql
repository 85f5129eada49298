-- Pulls per repository, week, cloud provider of the pulling IPs (`host`) and IP type.
{{ dockerdvp_pulls_mart("week", ["cloud_provider", "ip_type"], sources=[
    ["report_trends", [dockerdvp_report_cloud(), none]],
]) }}
