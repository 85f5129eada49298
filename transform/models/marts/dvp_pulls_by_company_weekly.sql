-- Pulls per repository, week and company pulling (the domain and owner of the pulling IPs). Where only the
-- tracked-companies report was extracted, its companies (domains) only.
{{ dockerdvp_pulls_mart("week", ["domain", "owner"], sources=[
    ["report_tracked_companies", ["domain", none]],
]) }}
