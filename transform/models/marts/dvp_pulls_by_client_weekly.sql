-- Pulls per repository, week and client (user agent tool and version).
{{ dockerdvp_pulls_mart("week", ["user_agent_tool", "user_agent_version"], sources=[
    ["report_trends", ["user_agent_tool", none]],
]) }}
