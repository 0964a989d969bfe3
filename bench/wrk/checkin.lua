-- POST /api/v1/activations/{id}/checkin with that activation's token.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local rows

function init(args)
   seed()
   rows = read_rows()
end

function request()
   local row = rows[math.random(#rows)]
   return wrk.format("POST", "/api/v1/activations/" .. row[1] .. "/checkin", json_headers,
                     '{"activation_token":"' .. row[2] .. '"}')
end
