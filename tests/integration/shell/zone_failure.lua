-- A zone crashes with sessions open (fusion.kill_zone, --embedded): gossip declares it dead,
-- the domain places its instances again in other zones, and new sessions are served there.
local game = "fusion://acme/cloud-game"

-- The zones the game's instances run in (an instance id names its zone: inst-ZONE-N).
local function game_zones()
  local at = {}
  for _, id in ipairs(assert(fusion.instances(game)).instance_ids) do
    at[#at + 1] = id:match("^inst%-(.+)%-%d+$")
  end
  return at
end

local before = game_zones()
fusion.check(#before == 2 and before[1] == "edge-ghent" and before[2] == "edge-ghent",
  "the demo runs the game in edge-ghent: " .. table.concat(before, ", "))

for i = 1, 6 do
  local s, err = fusion.session_open(game, {client = "before-" .. i})
  fusion.check(s ~= nil, "session " .. i .. " opens before the crash: " .. tostring(err))
end

local killed = assert(fusion.kill_zone("edge-ghent"))
fusion.check(#killed == 5, "two instances, the DC agent, the gossip agent and the manager: " ..
  table.concat(killed, ", "))

local dead = fusion.wait_until(function()
  for _, m in ipairs(assert(fusion.members("domain/fusion-demo")).members) do
    if m.node_id == "zone/edge-ghent" and m.status == "dead" then return true end
  end
end, 15)
fusion.check(dead, "gossip declares zone/edge-ghent dead")

local replaced = fusion.wait_until(function()
  local outside = 0
  for _, z in ipairs(game_zones()) do
    if z ~= "edge-ghent" then outside = outside + 1 end
  end
  return outside >= 2
end, 20)
fusion.check(replaced, "the game runs again outside edge-ghent: " .. table.concat(game_zones(), ", "))

for i = 1, 4 do
  local s, err = fusion.session_open(game, {client = "after-" .. i})
  fusion.check(s ~= nil, "session " .. i .. " opens after the crash: " .. tostring(err))
  if s then
    fusion.check(not s.instance_id:find("edge-ghent", 1, true),
      "never on the dead zone: " .. s.instance_id)
  end
end
local _, err = fusion.kill("zone/nowhere")
fusion.check(err and err:find("no actor 'zone/nowhere'"), "killing an unknown actor is refused")
print("zone failure ok")
