-- Argo CD health of a slogate Incident, read from its spec and the status slogate writes.
-- Degraded: open and holding promotions (an open P1/P2 by default), or an invalid spec.
-- Progressing: open but below the severity that holds promotions, or not evaluated yet.
-- Healthy: Resolved or Closed.
-- Argo CD runs each health script on its own, so every script carries its own helpers, and
-- without Lua's string library (only base, table and a safe os are loaded).
local hs = {}

local function condition(status, kind)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil or
    (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "waiting for slogate to evaluate this generation"
  return hs
end

local valid = condition(status, "Valid")
if valid ~= nil and valid.status == "False" then
  hs.status = "Degraded"
  hs.message = "invalid: " .. (valid.message or "the spec is invalid")
  return hs
end

local spec = obj.spec or {}
local state = spec.state or "Detected"
local summary = (spec.severity or "?") .. " " .. state .. ": " .. (spec.title or "")
if state == "Resolved" or state == "Closed" then
  hs.status = "Healthy"
  hs.message = summary
  if status.duration ~= nil then
    hs.message = hs.message .. " (lasted " .. status.duration .. ")"
  end
  return hs
end

if status.holdingPromotions then
  hs.status = "Degraded"
  hs.message = summary .. "; holding promotions of the affected workloads"
else
  hs.status = "Progressing"
  hs.message = summary .. "; not holding promotions"
end
return hs
