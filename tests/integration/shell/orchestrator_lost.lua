-- The orchestrator goes away under a connected shell (shell_cluster_test.sh kills it with
-- -9 once "linked" is printed): a request then fails with peer_unreachable, a zone node
-- still answers, and the script ends with an error (exit 1).
local zones = assert(fusion.zones())
fusion.check(#zones == 2, "two zones before the orchestrator is lost, found " .. #zones)
print("linked")

local lost
fusion.wait_until(function()
  local z, err = fusion.zones()
  if z == nil then lost = err end
  return lost
end, 20, 0.1)
fusion.check(lost and lost:find("peer_unreachable") and lost:find("orchestrator"),
  "a request to the lost orchestrator fails with peer_unreachable: " .. tostring(lost))
print("lost: " .. tostring(lost))

-- The other peer's link is independent of the orchestrator's.
local info = fusion.request("zone/edge-brussels@zone-node-a", "get_zone_information", {})
fusion.check(info ~= nil, "zone-node-a still answers")

assert(fusion.services())
print("unreachable: the services were listed")
