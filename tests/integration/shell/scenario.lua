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

-- A Lua evaluator of the node ([[evaluator_script]] near-users) scores a service whose
-- manifest names it: its extra score is in the offer.
local near = assert(fusion.plan([[
general:
  name: fusion://acme/near-users-demo
deployment:
  hardware: {cpu_cores: 1, memory_mb: 512}
mapping:
  evaluator: near-users
  user_locations:
    - {region: us-east, latitude: 38.9, longitude: -77.0}
]], 1))
fusion.check(near.satisfied, "the Lua-scored plan is satisfied")
fusion.check(near.chosen[1].zone_name == "bulk-dc-virginia",
  "nearest to its users: " .. tostring(near.chosen[1].zone_name))
fusion.check(near.chosen[1].scores.extra.near ~= nil, "the script's extra score is in the offer")

-- The zones' monitoring script ([monitoring]) gives indicators; watch sees them change.
local indicator = fusion.wait_until(function()
  return fusion.state("zone/edge-ghent").values["indicator.cpu_used"]
end, 5)
fusion.check(indicator ~= nil, "zone/edge-ghent has a cpu_used indicator")
local seen = assert(fusion.watch("zone/edge-ghent", 0.3, 0.1))
fusion.check(#seen > 10, "watch returns the first poll's leaves, found " .. #seen)
local _, werr = fusion.watch("domain/placement", 0.1)
fusion.check(werr and werr:find("cannot watch"), "an actor that cannot be watched is refused")

fusion.check(io == nil, "no io without --allow-files")
local ok = fusion.wait_until(function() return #assert(fusion.zones()) == 4 end, 2)
fusion.check(ok, "wait_until sees the zones")
print("scenario ok")
