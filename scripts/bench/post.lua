-- POST /Users with Okta's body and a unique userName per request.
local key = os.getenv("SCIM_KEY")
local counter = 0
local thread_tag = ""
local threads_made = 0
-- A tag per thread and run, so that runs against a kept database do not collide.
setup = function(thread)
  threads_made = threads_made + 1
  thread:set("tag", os.time() .. "-" .. threads_made)
end
init = function(args)
  thread_tag = tag
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
