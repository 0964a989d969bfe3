-- POST /api/v1/validate: a licence key and one of its live installations (answer VALID).
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local rows

function init(args)
   seed()
   rows = read_rows()
end

function request()
   local row = rows[math.random(#rows)]
   local body = '{"license_key":"' .. row[1] .. '","installation_id":"' .. row[2] .. '"}'
   return wrk.format("POST", "/api/v1/validate", json_headers, body)
end
