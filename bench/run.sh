#!/usr/bin/env bash
# The runner against `wasmtime serve` (wasmtime-cli from crates.io, the same wasmtime
# version as the runner) on the same trivial wasi:http component, in one run; and the
# runner on a WASIp3 hello (bench/hello-p3, instances reused as in Spin 4) against the
# WASIp2 one (a fresh instance per request).
# Reports requests per second and latency for each and their ratios. Never fails on a
# timing. Loopback only; every load run is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-16}
WASMTIME_VERSION=$(cargo metadata --format-version 1 --locked 2>/dev/null \
  | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="wasmtime"))')
TOOLS=bench/.tools
OUT=bench/out
mkdir -p "$OUT"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ ! -x "$TOOLS/bin/wasmtime" ] || ! "$TOOLS/bin/wasmtime" --version | grep -q "$WASMTIME_VERSION"; then
  echo "installing wasmtime-cli $WASMTIME_VERSION (a few minutes, once)"
  cargo install --quiet --locked wasmtime-cli --version "$WASMTIME_VERSION" --root "$TOOLS"
fi
cargo build --quiet --release -p edgesafe-runner
cargo build --quiet --release --target wasm32-wasip2 -p edgesafe-bench-hello -p edgesafe-bench-hello-p3
WASM=target/wasm32-wasip2/release/edgesafe_bench_hello.wasm

STATE=$(mktemp -d)
STATE_P3=$(mktemp -d)
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$STATE" "$STATE_P3"; }
PIDS=()
trap cleanup EXIT

target/release/edgesafe-runner up -q -f bench/hello/spin.toml --listen 127.0.0.1:3801 --state-dir "$STATE" >/dev/null &
PIDS+=($!)
target/release/edgesafe-runner up -q -f bench/hello-p3/spin.toml --listen 127.0.0.1:3803 --state-dir "$STATE_P3" >/dev/null &
PIDS+=($!)
"$TOOLS/bin/wasmtime" serve -S cli --addr 127.0.0.1:3802 "$WASM" >/dev/null 2>&1 &
PIDS+=($!)

wait_up() { for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$1/" >/dev/null && return 0; sleep 0.2; done; echo "port $1 did not come up" >&2; exit 1; }
wait_up 3801
wait_up 3802
wait_up 3803

measure() { # name port
  wrk -t2 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$2/" >/dev/null  # warm-up
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$2/" > "$OUT/$1.txt"
}
# Alternate so neither always runs on a warmer machine.
measure runner 3801
measure wasmtime-serve 3802
measure runner-p3 3803
measure runner-2 3801
measure wasmtime-serve-2 3802
measure runner-p3-2 3803

python3 - "$OUT" <<'PY'
import re, sys, pathlib
out = pathlib.Path(sys.argv[1])
def parse(name):
    text = (out / f"{name}.txt").read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    def ms(label):
        m = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)", text)
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    return rps, ms("50%"), ms("99%")
rows = {}
for host in ("runner", "wasmtime-serve", "runner-p3"):
    runs = [parse(host), parse(f"{host}-2")]
    rows[host] = tuple(sum(r[i] for r in runs) / len(runs) for i in range(3))
print(f"{'host':16} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
for host, (rps, p50, p99) in rows.items():
    print(f"{host:16} {rps:10.0f} {p50:8.2f} {p99:8.2f}")
r, w = rows["runner"], rows["wasmtime-serve"]
print(f"ratio runner/wasmtime-serve: throughput {r[0]/w[0]:.2f}x, p50 latency {r[1]/w[1]:.2f}x, p99 latency {r[2]/w[2]:.2f}x")
p3 = rows["runner-p3"]
print(f"ratio runner WASIp3 (reused)/WASIp2: throughput {p3[0]/r[0]:.2f}x, p50 latency {p3[1]/r[1]:.2f}x, p99 latency {p3[2]/r[2]:.2f}x")
PY
