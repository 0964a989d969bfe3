-- Shared by the scenario scripts (loaded with dofile, BENCH_LUA_DIR names this folder).
-- Each wrk thread has its own Lua state: setup() numbers the threads, so that every
-- thread makes installation ids of its own; done() prints the summary as one JSON line.

local next_thread = 1

function setup(thread)
   thread:set("thread_no", next_thread)
   next_thread = next_thread + 1
end

-- The lines of the file BENCH_DATA names, each split on tabs.
function read_rows()
   local path = os.getenv("BENCH_DATA")
   local rows = {}
   for line in io.lines(path) do
      local fields = {}
      for field in string.gmatch(line, "[^\t]+") do
         fields[#fields + 1] = field
      end
      rows[#rows + 1] = fields
   end
   assert(#rows > 0, "no rows in " .. path)
   return rows
end

-- A unique, random-looking installation id: run, thread and counter make it unique
-- (every activation request must take a new seat); the random part spreads the
-- ids over the index as real installation ids would.
local counter = 0
function new_installation_id()
   counter = counter + 1
   return string.format("%s.%d.%d.%08x", os.getenv("BENCH_RUN"), thread_no, counter,
                        math.random(0, 0x7fffffff))
end

function seed()
   math.randomseed(os.time() * 100 + (thread_no or 0))
end

json_headers = { ["Content-Type"] = "application/json" }

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect_errors": %d, '
         .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "status_errors": %d, '
         .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
