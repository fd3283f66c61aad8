-- Argo CD health of a slogate ServiceLevelObjective, read from the status slogate writes.
-- Healthy: within budget. Degraded: invalid spec, budget exhausted, or a page-severity burn-rate
-- policy firing. Progressing: not evaluated yet, no data, or only ticket-severity policies firing.
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
if status.state == "Invalid" or (valid ~= nil and valid.status == "False") then
  hs.status = "Degraded"
  hs.message = "invalid: " .. ((valid ~= nil and valid.message) or "the spec is invalid")
  return hs
end

local budget = ""
if status.errorBudgetRemainingPercent ~= nil then
  budget = "error budget remaining " .. tostring(status.errorBudgetRemainingPercent) .. "%"
end

if status.state == "Exhausted" then
  hs.status = "Degraded"
  hs.message = "error budget exhausted (" .. budget .. ")"
  return hs
end

if status.state == "Burning" then
  local firing = {}
  local paging = false
  for _, alert in ipairs(status.alerts or {}) do
    if alert.firing then
      table.insert(firing, alert.name .. " (" .. alert.severity .. ", burn rate > " ..
        tostring(alert.burnRateThreshold) .. ")")
      if alert.severity == "page" then
        paging = true
      end
    end
  end
  if paging then
    hs.status = "Degraded"
  else
    hs.status = "Progressing"
  end
  hs.message = "burning error budget: " .. table.concat(firing, ", ")
  if budget ~= "" then
    hs.message = hs.message .. "; " .. budget
  end
  return hs
end

if status.state == "Healthy" then
  hs.status = "Healthy"
  hs.message = budget
  if status.sli ~= nil then
    hs.message = "SLI " .. tostring(status.sli) .. "%, " .. budget
  end
  return hs
end

local ready = condition(status, "Ready")
hs.status = "Progressing"
hs.message = "no data yet"
if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
  hs.message = "no data: " .. ready.message
end
return hs
