-- The request mix of bench/load.py: reads, searches, writes and deletes.
--
--   wrk -s bench/load.lua URL -- TOKENS_FILE SEEDED_MAX_ID
--
-- Every request carries X-Request-ID "<kind>-<thread>-<n>"; the app sends it
-- back, so response() counts each status under the kind of request it answers.
-- Writes take the bearer tokens of TOKENS_FILE (one a line) in turn. Ids this
-- thread created (from the Location of a 201) are the ones it deletes.

-- Weights, in percent.
local MIX = {
  { "read", 36 },    -- GET /api/problems/ID: 200, or 404 once deleted
  { "list", 8 },     -- GET /api/problems
  { "stats", 5 },    -- GET /api/stats
  { "search", 15 },  -- GET /api/search?q=...: dynamic, never stored
  { "page", 6 },     -- GET /problems/ID: the HTML page, dynamic
  { "create", 9 },   -- POST /api/problems with a new name: 201
  { "clash", 1 },    -- POST /api/problems named "Load Clash": 201 once, then 409
  { "patch", 11 },   -- PATCH /api/problems/ID: 200, or 404 once deleted
  { "delete", 9 },   -- DELETE /api/problems/ID: 204, or 404 when another got there first
}
local TERMS = { "tree", "array", "load", "sum", "graph", "string", "renamed", "dp" }
local DIFFICULTIES = { "easy", "medium", "hard" }

-- Globals: setup() sets `number` in each thread's state, done() reads its `statuses`.
number = 0
statuses = {}
local threads = {}
local counter = 0
local tokens = {}
local created = {}
local seeded = 1
local max_id = 1
local total_weight = 0
for _, entry in ipairs(MIX) do
  total_weight = total_weight + entry[2]
end

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      table.insert(tokens, line)
    end
  end
  seeded = tonumber(args[2])
  max_id = seeded
  math.randomseed(number * 7919 + 17)
end

local function pick()
  local roll = math.random(total_weight)
  for _, entry in ipairs(MIX) do
    roll = roll - entry[2]
    if roll <= 0 then
      return entry[1]
    end
  end
end

-- Mostly the seed problems (never deleted: a hot set), else any id made since.
local function any_id()
  if max_id == seeded or math.random(4) > 1 then
    return math.random(seeded)
  end
  return math.random(seeded + 1, max_id)
end

function request()
  counter = counter + 1
  local kind = pick()
  local headers = { ["X-Request-ID"] = kind .. "-" .. number .. "-" .. counter }
  local function write(method, path, body)
    headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1]
    if body then
      headers["Content-Type"] = "application/json"
    end
    return wrk.format(method, path, headers, body)
  end
  if kind == "read" then
    return wrk.format("GET", "/api/problems/" .. any_id(), headers)
  elseif kind == "list" then
    return wrk.format("GET", "/api/problems", headers)
  elseif kind == "stats" then
    return wrk.format("GET", "/api/stats", headers)
  elseif kind == "search" then
    return wrk.format("GET", "/api/search?q=" .. TERMS[math.random(#TERMS)], headers)
  elseif kind == "page" then
    return wrk.format("GET", "/problems/" .. any_id(), headers)
  elseif kind == "create" then
    local name = "Load " .. number .. "-" .. counter
    return write("POST", "/api/problems",
      '{"name": "' .. name .. '", "tags": ["load"], "statement": "Made by *wrk*."}')
  elseif kind == "clash" then
    return write("POST", "/api/problems", '{"name": "Load Clash"}')
  elseif kind == "patch" then
    local body
    if counter % 2 == 0 then
      body = '{"difficulty": "' .. DIFFICULTIES[math.random(#DIFFICULTIES)] .. '"}'
    else
      body = '{"name": "Load renamed ' .. number .. "-" .. counter .. '"}'
    end
    return write("PATCH", "/api/problems/" .. any_id(), body)
  else -- delete: one this thread made, else any made since the seed
    local id = seeded + 1
    if #created > 0 then
      id = table.remove(created, math.random(#created))
    elseif max_id > seeded then
      id = math.random(seeded + 1, max_id)
    end
    return write("DELETE", "/api/problems/" .. id, nil)
  end
end

function response(status, headers, body)
  local id = headers["X-Request-ID"] or headers["x-request-id"] or "none"
  local kind = id:match("^(%a+)-") or "unknown"
  local key = kind .. " " .. status
  statuses[key] = (statuses[key] or 0) + 1
  if status == 201 then
    local made = tonumber((headers["Location"] or ""):match("/(%d+)$"))
    if made then
      table.insert(created, made)
      if made > max_id then
        max_id = made
      end
    end
  end
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses")) do
      totals[key] = (totals[key] or 0) + count
    end
  end
  for key, count in pairs(totals) do
    io.write(string.format("LOAD status %s %d\n", key, count))
  end
  local errors = summary.errors
  io.write(string.format("LOAD errors connect=%d read=%d write=%d timeout=%d\n",
    errors.connect, errors.read, errors.write, errors.timeout))
  io.write(string.format("LOAD requests=%d duration_us=%d\n", summary.requests, summary.duration))
  io.write(string.format("LOAD latency p50_us=%d p99_us=%d max_us=%d\n",
    latency:percentile(50), latency:percentile(99), latency.max))
end
