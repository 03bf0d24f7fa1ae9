-- bench/search.py's wrk script: the one sequence of searches, walked in order, a write a second.
--
--   wrk -s bench/search_mix/mix.lua URL -- PATHS_FILE THREADS ROUTE TOKEN EVERY
--
-- PATHS_FILE holds one path a line (/api/search?q=...). Each wrk thread walks
-- it in order from its own offset (thread n of THREADS starts at
-- (n - 1) * lines / THREADS) and hands the next path to whichever of its
-- connections is ready to send: with -t1, the connections take the one
-- sequence in turn. At its end the walk starts again at the first line.
-- ROUTE replaces each path's route (/api/search-cached?q=...).
--
-- The writes: the first request the first thread makes in each period of
-- EVERY whole seconds of the clock (os.time; 0: no writes) is a POST
-- /api/problems of a new problem instead, on whichever connection asked, so
-- that no connection is added to the run (ours serves as many as wrk opens).
-- TOKEN is sent as its bearer token ("-": none, for Next.js). No query of the
-- sequence matches its name. Its answer, a 201, is counted apart.
--
-- response() counts the answers by their X-Data-Cache (HIT, MISS, or none:
-- Next.js sends none), the statuses other than 200 and 201, and the search
-- bodies' bytes; done() prints them summed over the threads, on one line
-- that starts "MIX".

number = 0
hits = 0
misses = 0
unmarked = 0
not_ok = 0
created = 0
body_bytes = 0
local threads = {}
local requests = {}
local position = 0
local write_headers = { ["Content-Type"] = "application/json" }
local every = 0
local period = nil
local writes = 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("number", #threads)
end

function init(args)
  local route = args[3]
  for line in io.lines(args[1]) do
    if line ~= "" then
      local query = line:find("?", 1, true)
      table.insert(requests, wrk.format("GET", route .. line:sub(query)))
    end
  end
  local count = tonumber(args[2]) or 1
  position = math.floor((number - 1) * #requests / count)
  if args[4] and args[4] ~= "-" then
    write_headers["Authorization"] = "Bearer " .. args[4]
  end
  every = tonumber(args[5]) or 0
end

local function write(now)
  writes = writes + 1
  local body = string.format(
    '{"name": "Zipf Write %d-%d-%d", "difficulty": "medium", "tags": ["arrays", "hashing"], '
      .. '"statement": "Given an array of integers, return **the answer**."}',
    number, now, writes)
  return wrk.format("POST", "/api/problems", write_headers, body)
end

function request()
  if number == 1 and every > 0 then
    local now = os.time()
    local current = math.floor(now / every)
    if period ~= current then
      period = current
      return write(now)
    end
  end
  position = position % #requests + 1
  return requests[position]
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
    return
  end
  local cache = headers["X-Data-Cache"] or headers["x-data-cache"]
  if cache == "HIT" then
    hits = hits + 1
  elseif cache == "MISS" then
    misses = misses + 1
  else
    unmarked = unmarked + 1
  end
  if status ~= 200 then
    not_ok = not_ok + 1
  end
  body_bytes = body_bytes + #body
end

function done(summary, latency, counts)
  local totals = { hits = 0, misses = 0, unmarked = 0, not_ok = 0, created = 0, body_bytes = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + thread:get(key)
    end
  end
  io.write(string.format(
    "MIX hits=%d misses=%d unmarked=%d not_ok=%d created=%d body_bytes=%d\n",
    totals.hits, totals.misses, totals.unmarked, totals.not_ok, totals.created,
    totals.body_bytes))
end
