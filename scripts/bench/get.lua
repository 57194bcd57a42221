-- GET /Users/{id} for ids read from $IDS_FILE (one per line), in random order.
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local key = os.getenv("SCIM_KEY")
math.randomseed(os.time())
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", wrk.path .. "/Users/" .. id, { ["Authorization"] = "Bearer " .. key })
end
