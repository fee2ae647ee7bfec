-- wrk script: start instances of the approval process.
function init(args)
  token = os.getenv("TOKEN")
end

function request()
  return wrk.format("POST", "/api/process-definitions/approval/start",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, '{"variables":{"fee":12.50}}')
end
