-- Okta's lookup: GET /Users?filter=userName eq "…"&startIndex=1&count=100 over the seeded
-- users, named by NAME_FORMAT (default the load generator's load-NNNNNNN@example.com), half of
-- them in upper case.
local key = os.getenv("SCIM_KEY")
local users = tonumber(os.getenv("USERS") or "100000")
local name_format = os.getenv("NAME_FORMAT") or "load-%07d@example.com"
math.randomseed(os.time())
request = function()
  local n = math.random(0, users - 1)
  local name = string.format(name_format, n)
  if n % 2 == 0 then name = string.upper(name) end
  local path = wrk.path .. "/Users?filter=userName+eq+%22" .. name .. "%22&startIndex=1&count=100"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end
