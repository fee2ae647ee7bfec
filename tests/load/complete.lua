-- wrk script: each connection thread completes its own share of task ids
-- (from the file in $IDS), so no two requests race for one task.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
  nthreads = tonumber(os.getenv("THREADS") or "2")
  i = tid + 1
  token = os.getenv("TOKEN")
  body = '{"variables":{"amount":10,"decision":"approve"}}'
end

function request()
  local id = ids[i]
  i = i + nthreads
  if id == nil then id = ids[1] end
  return wrk.format("POST", "/api/tasks/" .. id .. "/complete",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end
