-- POST /api/v1/activations: a licence key picked at random from BENCH_DATA (one line
-- per licence; a single line for the high-contention scenario) and a new installation
-- id every time, so that every request is a real new activation (201).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local keys

function init(args)
   seed()
   keys = read_rows()
end

function request()
   local key = keys[math.random(#keys)][1]
   local body = '{"license_key":"' .. key .. '","installation_id":"' .. new_installation_id()
      .. '","machine_name":"BENCH-PC","client":{"app_version":"1.0","os":"Linux"}}'
   return wrk.format("POST", "/api/v1/activations", json_headers, body)
end
