-- The floor: GET /healthz, the same app doing nothing.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

function request()
   return wrk.format("GET", "/healthz")
end
