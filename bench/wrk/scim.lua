-- One wrk script for every benchmark operation; the driver (bench/bench.py) passes, after `--`:
--   mode  file-of-ids  token  [group-id]
-- and reads the JSON line `done` prints. Modes: path (GET the URL as given), lookup, get,
-- create, deactivate, put, member, push, lookup_base, insert_base,
-- insert_durable.

local mode, ids, token, group = nil, {}, nil, nil
local counter, stop_after = 0, nil
created, non2xx = 0, 0  -- globals: `done` reads them through thread:get
local threads = {}
local USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
local PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode, token, group = args[1], args[3], args[5]
  if args[4] and args[4] ~= "" then stop_after = tonumber(args[4]) end
  for line in io.lines(args[2]) do
    local id, name = line:match("^(%S+)%s+(%S+)$")
    if id then table.insert(ids, {id = id, name = name}) end
  end
  math.randomseed(os.time() + (tid or 0) * 7919)
  run = string.format("%x%x", os.time(), math.random(0, 0xffffff))
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/scim+json"
end

local function pick() return ids[math.random(1, #ids)] end

local function urlencode(s)
  return (s:gsub("[^%w%-_.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function user_body(name, family)
  return string.format(
    '{"schemas":["%s"],"userName":"%s","name":{"givenName":"Bench","familyName":"%s"},'
      .. '"emails":[{"value":"%s","type":"work","primary":true}],"displayName":"Bench %s",'
      .. '"active":true}', USER_URN, name, family, name, family)
end

local function filter_url(name)
  return "/scim/v2/Users?filter=" .. urlencode('userName eq "' .. name .. '"')
end

function request()
  counter = counter + 1
  if mode == "path" then
    return wrk.format("GET")
  elseif mode == "lookup" then
    return wrk.format("GET", filter_url(pick().name))
  elseif mode == "lookup_base" then
    return wrk.format("GET", "/lookup?name=" .. urlencode(pick().name))
  elseif mode == "get" then
    return wrk.format("GET", "/scim/v2/Users/" .. pick().id)
  elseif mode == "create" then
    local name = string.format("new-%s-%d@example.com", run, counter)
    return wrk.format("POST", "/scim/v2/Users", nil, user_body(name, counter))
  elseif mode == "insert_base" then
    local name = string.format("new-%s-%d@example.com", run, counter)
    return wrk.format("POST", "/insert", nil, user_body(name, counter))
  elseif mode == "insert_durable" then
    local name = string.format("new-%s-%d@example.com", run, counter)
    return wrk.format("POST", "/insert?durable=1", nil, user_body(name, counter))
  elseif mode == "deactivate" then
    -- Each user in turn; every pass over the list flips them back, so each PATCH changes one.
    local u = ids[(counter - 1) % #ids + 1]
    local active = (math.floor((counter - 1) / #ids) % 2 == 1) and "true" or "false"
    local body = string.format(
      '{"schemas":["%s"],"Operations":[{"op":"replace","path":"active","value":%s}]}',
      PATCH_URN, active)
    return wrk.format("PATCH", "/scim/v2/Users/" .. u.id, nil, body)
  elseif mode == "put" then
    local u = ids[(counter - 1) % #ids + 1]
    return wrk.format("PUT", "/scim/v2/Users/" .. u.id, nil, user_body(u.name, "Put " .. counter))
  elseif mode == "member" then
    -- Add a spare user, then remove it: every request changes the group by one member.
    local u = ids[math.floor((counter - 1) / 2) % #ids + 1]
    local op = (counter % 2 == 1) and "add" or "remove"
    local body = string.format(
      '{"schemas":["%s"],"Operations":[{"op":"%s","path":"members","value":[{"value":"%s"}]}]}',
      PATCH_URN, op, u.id)
    return wrk.format("PATCH", "/scim/v2/Groups/" .. group .. "?excludedAttributes=members",
      nil, body)
  elseif mode == "push" then
    -- JumpCloud's initial push: look the user up by userName, then create it.
    local n = math.floor((counter - 1) / 2)
    local name = string.format("push-%s-%d@example.com", run, n)
    if counter % 2 == 1 then return wrk.format("GET", filter_url(name)) end
    return wrk.format("POST", "/scim/v2/Users", nil, user_body(name, n))
  end
  error("unknown mode " .. tostring(mode))
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  if status == 201 then
    created = created + 1
    if stop_after and created >= stop_after then
      -- wrk would idle until -d runs out: report and leave; the driver times the process.
      io.write(string.format('\nRESULT {"requests":0,"duration_us":0,"non2xx":%d,'
        .. '"socket_errors":0,"created":%d,"p50_us":0,"p99_us":0}\n', non2xx, created))
      io.flush()
      os.exit(0)
    end
  end
end

function done(summary, latency, requests)
  local bad, made = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    made = made + (t:get("created") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,'
      .. '"created":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, bad, e.connect + e.read + e.write + e.timeout, made,
    latency:percentile(50), latency:percentile(99)))
end
