-- monitoring/load.lua: CPU in use, and free sessions smoothed over a few runs.
smoothed = nil
function aggregate(s)
  local free, total = 0, 0
  for _, i in ipairs(s.instances) do
    free = free + (i.available or 0)
    total = total + i.max_sessions
  end
  smoothed = smoothed and 0.7 * smoothed + 0.3 * free or free
  return { cpu_used = 1 - s.zone.free_cpu_cores / s.zone.cpu_cores,
           sessions_free = smoothed, session_use = total > 0 and 1 - free / total or 0 }
end
