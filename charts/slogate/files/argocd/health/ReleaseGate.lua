-- Argo CD health of a slogate ReleaseGate, read from the status slogate writes.
-- Suspended: the gate holds at least one workload (slogate's reason in the message).
-- Degraded: invalid spec, or the gate rolled a workload back. Healthy: everything may proceed,
-- including a DryRun gate that only reports what it would do. Progressing: not evaluated yet.
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

local function workload_name(entry)
  local ref = entry.workload or {}
  local name = (ref.kind or "?") .. "/" .. (ref.name or "?")
  if ref.namespace ~= nil then
    name = ref.namespace .. "/" .. name
  end
  return name
end

local function blocking(entry)
  local found = {}
  for _, reason in ipairs(entry.reasons or {}) do
    if not reason.passed and not reason.waived then
      table.insert(found, reason.message)
    end
  end
  return table.concat(found, "; ")
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

local held, rolled_back, would_block = {}, {}, {}
for _, entry in ipairs(status.workloads or {}) do
  local line = workload_name(entry) .. ": " .. blocking(entry)
  if entry.enforcedVerdict == "Rollback" then
    table.insert(rolled_back, line)
  elseif entry.enforcedVerdict == "Hold" then
    table.insert(held, line)
  elseif entry.verdict == "Hold" or entry.verdict == "Rollback" then
    table.insert(would_block, entry.verdict .. " " .. line)
  end
end

if #rolled_back > 0 then
  hs.status = "Degraded"
  hs.message = "rolling back " .. table.concat(rolled_back, " | ")
  return hs
end
if #held > 0 then
  hs.status = "Suspended"
  hs.message = "holding " .. table.concat(held, " | ")
  return hs
end
hs.status = "Healthy"
local governed = #(status.workloads or {})
hs.message = governed .. " workload(s) may proceed"
if #would_block > 0 then
  hs.message = hs.message .. "; DryRun would " .. table.concat(would_block, " | ")
end
if status.overrideActive then
  hs.message = hs.message .. "; break-glass override active"
end
return hs
