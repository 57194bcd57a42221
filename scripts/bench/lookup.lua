-- Okta's lookup: GET /Users?filter=userName eq "…"&startIndex=1&count=100 over the seeded
-- load users (load-NNNNNNN@example.com), half of them in upper case.
local key = os.getenv("SCIM_KEY")
local users = tonumber(os.getenv("USERS") or "100000")
math.randomseed(os.time())
request = function()
  local n = math.random(0, users - 1)
  local name = string.format("load-%07d@example.com", n)
  if n % 2 == 0 then name = string.upper(name) end
  local path = wrk.path .. "/Users?filter=userName+eq+%22" .. name .. "%22&startIndex=1&count=100"
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. key })
end
