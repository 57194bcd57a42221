-- POST /Users with Okta's body and a unique userName per request.
local key = os.getenv("SCIM_KEY")
local counter = 0
local thread_tag = ""
setup = function(thread)
  thread:set("tag", tostring(math.random(1, 1000000000)))
end
init = function(args)
  thread_tag = tag or tostring(math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  local name = "post-" .. thread_tag .. "-" .. counter .. "@example.com"
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"' .. name ..
    '","name":{"givenName":"Post","familyName":"Load"},"emails":[{"primary":true,"value":"' .. name ..
    '","type":"work"}],"active":true,"password":"placeholder","groups":[],"locale":"en-US"}'
  return wrk.format("POST", wrk.path .. "/Users", {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/scim+json",
  }, body)
end
