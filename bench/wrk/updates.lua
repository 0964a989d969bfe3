-- POST /api/v1/updates for one of the live activations (on 1.0.0, Windows):
-- the newest of the product's 1,000 releases it may have.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local rows

function init(args)
   seed()
   rows = read_rows()
end

function request()
   local row = rows[math.random(#rows)]
   return wrk.format("POST", "/api/v1/updates", json_headers,
                     '{"activation_id":"' .. row[1] .. '","activation_token":"' .. row[2] ..
                     '","current_version":"1.0.0","platform":"windows"}')
end
