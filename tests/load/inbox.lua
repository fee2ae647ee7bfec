-- wrk script: one staff member's inbox (first page).
function init(args)
  token = os.getenv("TOKEN")
end

function request()
  return wrk.format("GET", "/api/tasks?limit=50", { ["Authorization"] = "Bearer " .. token })
end
