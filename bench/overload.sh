#!/usr/bin/env bash
# edgesafe under load (issue 14): sign-in and a secret read at 16, 256 and 1,000
# connections, with the runner's default limits. Reports throughput, p50 and p99
# latency, and the answers that were not 200 (a 503 with Retry-After is the runner
# asking a client to come back; anything else would be a defect). Loopback only; every
# run is bounded in time; never fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
LEVELS=${LEVELS:-"16 256 1000"}
PORT=${PORT:-3803}
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
ulimit -n 8192 2>/dev/null || true
cargo build --quiet --release -p edgesafe-runner
target/release/edgesafe-runner build >/dev/null

STATE=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$STATE"; }
trap cleanup EXIT

KEY=$(openssl rand -hex 64)
BASE="http://127.0.0.1:$PORT/BeyondTrust/api/public/v3"
SPIN_VARIABLE_KEK=$(openssl rand -base64 32) SPIN_VARIABLE_ADMIN_API_KEY=$KEY \
  target/release/edgesafe-runner up -q --listen "127.0.0.1:$PORT" --state-dir "$STATE" \
  >"$OUT/overload-runner.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do curl -s "http://127.0.0.1:$PORT/" >/dev/null && break; sleep 0.2; done

AUTH="Authorization: PS-Auth key=$KEY; runas=admin;"
COOKIE=$(curl -s -D - -o /dev/null -X POST -H "$AUTH" "$BASE/Auth/SignAppIn" \
  | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')
SAFE=$(curl -s -H "Cookie: $COOKIE" -H 'Content-Type: application/json' \
  -d '{"Name":"bench","Description":"bench"}' "$BASE/secrets-safe/safes" | jq -r .Id)
SECRET=$(curl -s -H "Cookie: $COOKIE" -H 'Content-Type: application/json' \
  -d '{"Title":"bench","Text":"bench-value"}' \
  "$BASE/secrets-safe/folders/$SAFE/secrets/text" | jq -r .Id)
grep "requests at once" "$OUT/overload-runner.log" || true

# Counts the answers by status (a 503 without Retry-After apart) across wrk's threads.
STATUSES_LUA="$STATE/statuses.lua"
cat >"$STATUSES_LUA" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body)
  local key = tostring(status)
  if status == 503 and headers["retry-after"] == nil and headers["Retry-After"] == nil then
    key = "503-without-retry-after"
  end
  statuses[key] = (statuses[key] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for key, count in pairs(thread:get("statuses")) do total[key] = (total[key] or 0) + count end
  end
  for key, count in pairs(total) do io.write(string.format("status %s: %d\n", key, count)) end
end
LUA
SIGN_IN_LUA="$STATE/sign-in.lua"
{ printf 'wrk.method = "POST"\nwrk.headers["Authorization"] = "PS-Auth key=%s; runas=admin;"\n' "$KEY"
  cat "$STATUSES_LUA"; } >"$SIGN_IN_LUA"

measure() { # name connections url [wrk args...]
  local name=$1 conns=$2 url=$3
  shift 3
  wrk -t2 -c"$conns" -d"$DURATION" --timeout 30s --latency "$@" "$url" >"$OUT/overload-$name-$conns.txt"
  sleep 1 # let the last connections close before the next level
}

for conns in $LEVELS; do
  measure sign-in "$conns" "$BASE/Auth/SignAppIn" -s "$SIGN_IN_LUA"
  measure secret-read "$conns" "$BASE/secrets-safe/secrets/$SECRET/text" -s "$STATUSES_LUA" -H "Cookie: $COOKIE"
done

python3 - "$OUT" "$LEVELS" <<'PY'
import re, sys, pathlib
out, levels = pathlib.Path(sys.argv[1]), sys.argv[2].split()
def ms(text, label):
    m = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", text)
    if not m:
        return float("nan")
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
print(f"{'route':12} {'conns':>6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>9}  answers")
for route in ("sign-in", "secret-read"):
    for conns in levels:
        text = (out / f"overload-{route}-{conns}.txt").read_text()
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(re.findall(r"status (\S+): (\d+)", text)))
        errors = re.search(r"Socket errors: (.*)", text)
        if errors:
            answers += f"; socket errors: {errors.group(1)}"
        print(f"{route:12} {conns:>6} {rps:9.0f} {ms(text, '50%'):8.1f} {ms(text, '99%'):9.1f}  {answers}")
PY
