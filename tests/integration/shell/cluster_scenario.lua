-- A scenario against real fusion-node processes (shell_cluster_test.sh): an orchestrator
-- (role domain) and two zone nodes (edge-brussels on zone-node-a, bulk-dc-virginia on
-- zone-node-b), reached over links as the principal "ops" (domain_admin). Run with
-- --allow-files: the manifests are read from $FUSION_MANIFESTS (configs/services/).
local manifests = assert(os.getenv("FUSION_MANIFESTS"), "FUSION_MANIFESTS is not set")

-- The first request waits for the link (up to --timeout); the zones register with the
-- orchestrator on their own links, so wait until both are there.
-- Any error but an unreachable node ends the wait (a refusal will not go away).
local last = "no answer"
local zones = fusion.wait_until(function()
  local z, err = fusion.zones()
  if not z then
    last = err
    return not err:find("peer_unreachable") and {}
  end
  last = #z .. " zone(s)"
  return #z == 2 and z
end, 15)
fusion.check(zones and #zones == 2, "both zones register with the orchestrator within 15 s: " .. last)
zones = zones or {}
local managers = {}
for _, z in ipairs(zones) do managers[z.parameters.name] = z.manager end
fusion.check(managers["edge-brussels"] and managers["edge-brussels"].node == "zone-node-a",
  "edge-brussels is managed on zone-node-a: " .. fusion.json(managers["edge-brussels"]))
fusion.check(managers["bulk-dc-virginia"] and managers["bulk-dc-virginia"].node == "zone-node-b",
  "bulk-dc-virginia is managed on zone-node-b: " .. fusion.json(managers["bulk-dc-virginia"]))

-- Register two manifests of configs/services/ as the principal ops.
local services = assert(fusion.services())
fusion.check(#services == 0, "a fresh domain has no services, found " .. #services)
local analytics = assert(fusion.register(manifests .. "/analytics.yaml"))
fusion.check(analytics.name == "fusion://acme/analytics", "analytics is registered")
local transcoder = assert(fusion.register(manifests .. "/video-transcoder.yaml"))
fusion.check(transcoder.name == "fusion://acme/video-transcoder", "the transcoder is registered")
services = assert(fusion.services())
fusion.check(#services == 2, "two services are registered, found " .. #services)
-- The same manifest again from its owner is reused, not registered twice.
local again = assert(fusion.register(manifests .. "/analytics.yaml"))
fusion.check(again.service_id == analytics.service_id,
  "analytics registered again unchanged keeps " .. analytics.service_id .. ": " .. again.service_id)
local summary = assert(fusion.instances("fusion://acme/analytics"))
fusion.check(summary.record.owner.name == "ops",
  "the registrar records the shell's principal as the owner: " .. fusion.json(summary.record.owner))

-- Deploy: analytics needs VM isolation (only bulk-dc-virginia has it).
local deployed = assert(fusion.deploy("fusion://acme/analytics", 1))
fusion.check(#deployed.instance_ids == 1, "one analytics instance is deployed")
local after = assert(fusion.instances("fusion://acme/analytics"))
fusion.check(#after.instance_ids == 1, "the instance is on record: " .. fusion.json(after.instance_ids))

-- Explain the decision (explain_placement: a read-only query a domain admin may send).
local decision = assert(fusion.explain(deployed.decision_id))
fusion.check(decision.satisfied, "the decision was satisfied: " .. decision.summary)
fusion.check(decision.zones_known == 2, "the decision knew both zones")
local chosen, refused = {}, {}
for _, v in ipairs(decision.verdicts) do
  if v.chosen then chosen[#chosen + 1] = v.zone_name end
  if v.code == "hard_constraint" then refused[#refused + 1] = v.zone_name end
end
fusion.check(#chosen == 1 and chosen[1] == "bulk-dc-virginia",
  "analytics goes to bulk-dc-virginia: " .. fusion.json(chosen))
fusion.check(#refused == 1 and refused[1] == "edge-brussels",
  "edge-brussels is refused by a hard constraint (isolation): " .. fusion.json(refused))

-- The transcoder pre-deployed an instance when registered (policies.pre_deploy_instances;
-- it needs the h264 encoder of edge-brussels); one more goes to the same zone.
fusion.check(#transcoder.pre_deployed == 1, "the transcoder pre-deploys one instance")
local more = assert(fusion.deploy("fusion://acme/video-transcoder", 1))
local d2 = assert(fusion.explain(more.decision_id))
fusion.check(d2.satisfied and d2.chosen[1] and d2.chosen[1].zone_name == "edge-brussels",
  "the transcoder goes to edge-brussels: " .. d2.summary)

-- The other read-only queries of a domain admin: slots and a zone's information, the latter
-- asked at the zone node itself (the shell's second peer).
local slots = assert(fusion.slots())
fusion.check(type(slots.rows) == "table", "list_slots answers: " .. fusion.json(slots.counters))
local info = assert(fusion.request("zone/edge-brussels@zone-node-a", "get_zone_information", {}))
fusion.check(info ~= nil, "zone-node-a answers get_zone_information")

-- Sessions: open_session and release_session name no caller, so a principal's key is
-- refused (docs/security.md, Principals). If the cluster grants one, close it again.
local s, serr = fusion.session_open("fusion://acme/video-transcoder",
  {client = "script", via = "zone/edge-brussels@zone-node-a"})
if s then
  local closed = assert(fusion.session_close(s.session_id))
  fusion.check(closed.code == "ok", "the session is closed: " .. fusion.json(closed))
  print("session opened and closed: " .. s.session_id)
else
  fusion.check(serr:find("^not_authorized: "), "a refused session says why: " .. tostring(serr))
  print("session open refused for a principal: " .. serr)
end

-- A state-changing request without a caller stays refused for a principal's key.
local none, err = fusion.request("domain/deployment", "deploy_service", {instnces = 2})
fusion.check(none == nil and err:find("no field 'instnces'"), "a misspelt field is refused: " .. tostring(err))
local _, err2 = fusion.request("domain/zone_registry@nowhere", "list_zones", {})
fusion.check(err2 and err2:find("no node 'nowhere'"), "an unknown node is named: " .. tostring(err2))
print("cluster scenario ok")
