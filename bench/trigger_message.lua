-- wrk script: POST a custom message, spreading requests over many events (10 messages each at most).
local ids = {}
for line in io.lines(os.getenv("EVENT_IDS_FILE")) do ids[#ids + 1] = line end
-- Globals, not locals: wrk's thread:set()/thread:get() read and write a thread's globals.
counter = 0
thread_no = 0
created = 0
other = 0
local threads = {}
run_offset = tonumber(os.getenv("RUN_OFFSET") or "0")
LANES = tonumber(os.getenv("LANES") or "32")

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  created = 0
  other = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  -- Each run (RUN_OFFSET) and each thread walks its own slice of the events. Consecutive requests
  -- rotate over LANES events, so the posts in flight at once go to different events, as when each
  -- client is an automation sending the progress messages of its own click; every event gets 10.
  local lane = counter % LANES
  local index = (run_offset + thread_no * 20000 + math.floor(counter / (10 * LANES)) * LANES + lane) % #ids + 1
  local body = '{"event_id": "' .. ids[index] .. '", "message": "Step <b>' .. counter .. '</b> done", "message_type": "info"}'
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  else
    other = other + 1
    if other == 1 then first_error = status .. " " .. string.gsub(body:sub(1, 160), "\n", " ") end
  end
end

function done(summary, latency, requests)
  local total_created = 0
  local total_other = 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_other = total_other + thread:get("other")
  end
  for _, thread in ipairs(threads) do
    local first = thread:get("first_error")
    if first then io.write("FIRST_ERROR " .. first .. "\n") end
  end
  io.write(string.format("RESULT created=%d other=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d errors=%d\n",
    total_created, total_other, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout))
end
