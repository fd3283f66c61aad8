-- Argo CD health of a slogate ChangeFreeze, read from the status slogate writes.
-- Suspended: the freeze is in force (its reason, end and held workloads in the message).
-- Healthy: not in force (the next window in the message). Degraded: invalid spec.
-- Progressing: not evaluated yet.
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

if status.active then
  hs.status = "Suspended"
  hs.message = "change freeze in force: " .. (obj.spec.reason or "")
  if status.currentWindow ~= nil and status.currentWindow["end"] ~= nil then
    hs.message = hs.message .. " (until " .. status.currentWindow["end"] .. ")"
  end
  local held = {}
  for _, ref in ipairs(status.heldWorkloads or {}) do
    table.insert(held, ref.kind .. "/" .. ref.name)
  end
  if #held > 0 then
    hs.message = hs.message .. "; holding " .. table.concat(held, ", ")
  end
  return hs
end

hs.status = "Healthy"
hs.message = "not in force"
if status.nextWindow ~= nil and status.nextWindow.start ~= nil then
  hs.message = hs.message .. "; next window starts " .. status.nextWindow.start
end
return hs
