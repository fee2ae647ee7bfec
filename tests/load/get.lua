-- wrk script: GET $INBOX_PATH as the token's user.
function init(args)
  token = os.getenv("TOKEN")
  path = os.getenv("INBOX_PATH")
end

function request()
  return wrk.format("GET", path, { ["Authorization"] = "Bearer " .. token })
end
