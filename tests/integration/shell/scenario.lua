-- A scenario against the embedded demo domain: the demo's services are registered, a
-- deployment adds an instance, sessions open and close, bad input comes back as an error.
local services = assert(fusion.services())
fusion.check(#services == 4, "the demo registers four services, found " .. #services)

local zones = assert(fusion.zones())
fusion.check(#zones == 4, "four zones, found " .. #zones)

local before = assert(fusion.instances("fusion://acme/analytics"))
local deployed = assert(fusion.deploy("fusion://acme/analytics", 1))
fusion.check(#deployed.instance_ids == 1, "one instance deployed")
local after = assert(fusion.instances("fusion://acme/analytics"))
fusion.check(#after.instance_ids == #before.instance_ids + 1, "the new instance is on record")

local decision = assert(fusion.explain(deployed.decision_id))
fusion.check(decision.satisfied, "the decision was satisfied")

-- Sessions: open through the zone gateways, close at the instance.
local opened = {}
for i = 1, 5 do
  local s = assert(fusion.session_open("fusion://acme/cloud-game", {client = "script-" .. i}))
  opened[#opened + 1] = s.session_id
end
for _, id in ipairs(opened) do assert(fusion.session_close(id)) end

-- Any message, by name, with a table of fields.
local reply = assert(fusion.request("domain/registrar", "query_service_by_name",
  {caller = {name = "ops", kind = "domain_admin"}, service_id = "fusion://acme/cloud-game"}))
fusion.check(reply.record.parsed.name == "fusion://acme/cloud-game", "queried by name")

local none, err = fusion.request("domain/deployment", "deploy_service", {instnces = 2})
fusion.check(none == nil and err:find("no field 'instnces'"), "a misspelt field is refused: " .. tostring(err))
local _, err2 = fusion.request("no/such/actor", "list_zones", {})
fusion.check(err2 and err2:find("no actor"), "an unknown actor is refused: " .. tostring(err2))

fusion.check(io == nil, "no io without --allow-files")
local ok = fusion.wait_until(function() return #assert(fusion.zones()) == 4 end, 2)
fusion.check(ok, "wait_until sees the zones")
print("scenario ok")
