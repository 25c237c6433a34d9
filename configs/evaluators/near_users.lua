-- evaluators/near_users.lua: the generic score, weighed with nearness to the closest user.
function evaluate(zone, request, generic)
  local best = math.huge
  for _, u in ipairs(request.user_locations) do
    local dlat, dlon = zone.latitude - u.latitude, zone.longitude - u.longitude
    best = math.min(best, math.sqrt(dlat * dlat + dlon * dlon))
  end
  local near = best == math.huge and 1 or 1 / (1 + best / 10)
  return { total = 0.5 * generic.total + 0.5 * near, extra = { near = near } }
end
