#!/usr/bin/env bash
# bench/run.sh — load harness: sluice against nginx, HAProxy and Caddy.
#
# In one run on this machine it measures, with the same upstream (a separate
# nginx instance answering a fixed body from `return 200`) and the same route
# (/bench/1k, /bench/16k), requests per second and p50/p99 latency of:
#   direct (wrk -> upstream), sluice, sluice with its access log on,
#   sluice with OpenTelemetry tracing at 1% (exporting to an OTLP sink),
#   nginx, HAProxy and Caddy as reverse proxies.
# It writes BENCHMARKS.md at the repo root and keeps every raw wrk output under
# bench/results/<UTC timestamp>/. See bench/README.md.
#
# Knobs (environment): BENCH_CONNS (64), BENCH_THREADS (2), BENCH_DURATION
# seconds per measured run (10), BENCH_WARMUP seconds (2), BENCH_RUNS per
# target (3), BENCH_PORT_BASE (18400; uses the next 15 ports), BENCH_NO_INSTALL=1
# to skip apt-get, BENCH_KEEP_TMP=1 to keep the temp dir, SLUICE_BIN to use a
# prebuilt binary instead of `make build`, BENCH_OUT to write the report
# somewhere other than BENCHMARKS.md, BENCH_AI=1 to run bench/ai.sh after
# (the AI gateway section, which this script otherwise keeps as it is).
#
# Exit status: 0 on success; 1 if sluice failed to start, died, answered
# wrongly or produced any non-2xx/3xx response or socket error under load;
# 2 on a harness problem (no wrk, no nginx for the upstream, port in use).

set -Eeuo pipefail
export LC_ALL=C
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

CONNS=${BENCH_CONNS:-64}
THREADS=${BENCH_THREADS:-2}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-3}
PORT_BASE=${BENCH_PORT_BASE:-18400}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}

P_UPSTREAM=$((PORT_BASE + 1))
P_SLUICE=$((PORT_BASE + 2))
P_SLUICE_ADMIN=$((PORT_BASE + 3))
P_SLUICE_LOG=$((PORT_BASE + 4))
P_SLUICE_LOG_ADMIN=$((PORT_BASE + 5))
P_NGINX=$((PORT_BASE + 6))
P_HAPROXY=$((PORT_BASE + 7))
P_CADDY=$((PORT_BASE + 8))
P_SLUICE_EDGE=$((PORT_BASE + 9))
P_SLUICE_EDGE_ADMIN=$((PORT_BASE + 10))
P_SLUICE_RLOG=$((PORT_BASE + 11))
P_SLUICE_RLOG_ADMIN=$((PORT_BASE + 12))
P_SLUICE_TRACE=$((PORT_BASE + 13))
P_SLUICE_TRACE_ADMIN=$((PORT_BASE + 14))
P_OTLP=$((PORT_BASE + 15))
EDGE_KEY=bench-key-0123456789

# Targets in report order; display names and ports.
TARGETS=(direct sluice sluice_rlog sluice_log sluice_edge sluice_trace nginx haproxy caddy)
declare -A NAME=(
	[direct]="direct (no proxy)" [sluice]="sluice" [sluice_log]="sluice (access log + request log on)"
	[sluice_rlog]="sluice (request log on)"
	[sluice_edge]="sluice (key-auth + rate-limit)"
	[sluice_trace]="sluice (tracing 1%)"
	[nginx]="nginx" [haproxy]="HAProxy" [caddy]="Caddy")
declare -A PORT=(
	[direct]=$P_UPSTREAM [sluice]=$P_SLUICE [sluice_log]=$P_SLUICE_LOG [sluice_edge]=$P_SLUICE_EDGE [sluice_rlog]=$P_SLUICE_RLOG
	[sluice_trace]=$P_SLUICE_TRACE
	[nginx]=$P_NGINX [haproxy]=$P_HAPROXY [caddy]=$P_CADDY)
# Extra request headers per target (wrk -H and the answer check).
declare -A HDR=([sluice_edge]="x-api-key: $EDGE_KEY")
declare -A SKIP=()   # target -> reason it is not measured
declare -A PID=()    # process name -> pid, for liveness checks
SCENARIOS=(1k 16k)
declare -A SCEN_BYTES=([1k]=1024 [16k]=16384)

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$BENCH_DIR/results/$STAMP"
TMP=""
PIDS=()
CREATED_POLICY_RC=0

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit "${2:-2}"; }

cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM
	if ((CREATED_POLICY_RC)); then rm -f /usr/sbin/policy-rc.d; fi
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n $TMP && -d $TMP ]]; then
		if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then log "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- install --

# install_missing installs, with apt-get, the Debian packages whose binaries
# are absent. A package apt cannot find is reported and its peer skipped.
install_missing() {
	local -A bin_of=([nginx]=nginx [haproxy]=haproxy [caddy]=caddy [wrk]=wrk [curl]=curl)
	local pkg missing=() avail=()
	for pkg in nginx haproxy caddy wrk curl; do
		command -v "${bin_of[$pkg]}" >/dev/null 2>&1 || missing+=("$pkg")
	done
	((${#missing[@]})) || { log "nginx, haproxy, caddy, wrk and curl already installed"; return; }
	if [[ ${BENCH_NO_INSTALL:-0} == 1 ]]; then log "missing (BENCH_NO_INSTALL=1, not installing): ${missing[*]}"; return; fi
	if ((EUID != 0)); then log "missing and not root, not installing: ${missing[*]}"; return; fi
	log "installing: ${missing[*]}"
	apt-get update -qq || log "apt-get update failed; trying the cached package lists"
	for pkg in "${missing[@]}"; do
		if apt-cache show "$pkg" >/dev/null 2>&1; then avail+=("$pkg"); else log "package $pkg is not available from apt: its peer is skipped"; fi
	done
	((${#avail[@]})) || return 0
	# Keep the packages' own system services (nginx/caddy on :80) from
	# starting: this harness runs private instances only.
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && CREATED_POLICY_RC=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${avail[@]}" >&2 || log "apt-get install failed for some of: ${avail[*]}"
	if ((CREATED_POLICY_RC)); then rm -f /usr/sbin/policy-rc.d; CREATED_POLICY_RC=0; fi
}

# ---------------------------------------------------------------- helpers --

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME CMD... runs CMD in the background with its output in
# $TMP/NAME.log and remembers its pid for cleanup.
start() {
	local name=$1; shift
	"$@" >"$TMP/$name.log" 2>&1 &
	PIDS+=($!)
	PID[$name]=$!
}

# wait_ready TARGET waits up to 15 s for TARGET to answer /bench/1k with 200.
wait_ready() {
	local t=$1 i hdr=()
	[[ -n ${HDR[$t]:-} ]] && hdr=(-H "${HDR[$t]}")
	for ((i = 0; i < 150; i++)); do
		if [[ -n ${PID[$t]:-} ]] && ! kill -0 "${PID[$t]}" 2>/dev/null; then return 1; fi
		[[ $(curl -s "${hdr[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$t]}/bench/1k" 2>/dev/null) == 200 ]] && return 0
		sleep 0.1
	done
	return 1
}

# to_ms converts a wrk duration (123.45us, 1.20ms, 1.5s, 2m) to milliseconds.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.2f", n }'
}

# parse_wrk FILE prints: rps p50 p99 non2xx socket_errors requests
parse_wrk() {
	awk '
		/^Requests\/sec:/ { rps = $2 }
		/^ +50% / { p50 = $2 }
		/^ +99% / { p99 = $2 }
		/requests in/ { reqs = $1 }
		/Socket errors:/ { gsub(",", ""); se = $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { n2 = $NF }
		END { printf "%s %s %s %d %d %s\n", (rps == "" ? 0 : rps), (p50 == "" ? "0ms" : p50), (p99 == "" ? "0ms" : p99), n2, se, (reqs == "" ? 0 : reqs) }' "$1"
}

wrk_run() { # wrk_run SECONDS URL OUTFILE [HEADER]
	local h=()
	[[ -n ${4:-} ]] && h=(-H "$4")
	wrk -t"$THREADS" -c"$CONNS" -d"$1s" --latency "${h[@]}" "$2" >"$3" 2>&1 || true
}

# ------------------------------------------------------------ the configs --

gen_configs() {
	local s1k chunk
	# Bodies: a fixed printable pattern. The 16 KiB body is eight copies of a
	# 2 KiB variable because nginx rejects a single config token over 4 KiB.
	chunk=$(head -c 2048 < <(yes 'sluice-bench-0123456789abcdefghijklmnopqrstuvwxyz' | tr -d '\n'))
	s1k=${chunk:0:1024}
	printf '%s' "$s1k" >"$TMP/body-1k"
	printf '%s%s%s%s%s%s%s%s' "$chunk" "$chunk" "$chunk" "$chunk" "$chunk" "$chunk" "$chunk" "$chunk" >"$TMP/body-16k"

	mkdir -p "$TMP/upstream" "$TMP/nginx" "$TMP/caddy" "$TMP/sluice-data" "$TMP/sluice-log-data"

	cat >"$TMP/upstream/nginx.conf" <<EOF
# Upstream: one nginx worker answering fixed bodies from memory.
worker_processes 1;
daemon off;
pid $TMP/upstream/nginx.pid;
error_log $TMP/upstream/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    default_type text/plain;
    # The OTLP/HTTP sink of "sluice (tracing 1%)": it takes every export
    # (an empty 200 is a valid empty ExportTraceServiceResponse) and logs
    # each one, so the report can say how many batches were exported.
    server {
        listen 127.0.0.1:$P_OTLP;
        client_max_body_size 64m;
        access_log $TMP/upstream/otlp.log;
        location = /v1/traces { return 200; }
    }
    server {
        listen 127.0.0.1:$P_UPSTREAM backlog=4096;
        location = /bench/1k { return 200 "$s1k"; }
        location = /bench/16k {
            set \$c "$chunk";
            return 200 "\$c\$c\$c\$c\$c\$c\$c\$c";
        }
    }
}
EOF

	cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    upstream bench_up {
        server 127.0.0.1:$P_UPSTREAM;
        keepalive 128;
        keepalive_requests 10000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:$P_NGINX backlog=4096;
        location /bench {
            proxy_pass http://bench_up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF

	cat >"$TMP/haproxy.cfg" <<EOF
global
    nbthread $(nproc)
    maxconn 4096
    # no 'log' line: logging off
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 300s
frontend fe
    bind 127.0.0.1:$P_HAPROXY
    default_backend be
backend be
    server up1 127.0.0.1:$P_UPSTREAM
EOF

	# Caddyfile indentation is tabs (caddy fmt style), or Caddy warns.
	cat >"$TMP/caddy/Caddyfile" <<EOF
{
	admin off
	auto_https off
}

# No 'log' directive: access logging off.
:$P_CADDY {
	bind 127.0.0.1
	reverse_proxy /bench* 127.0.0.1:$P_UPSTREAM {
		transport http {
			keepalive 300s
			keepalive_idle_conns 256
			keepalive_idle_conns_per_host 128
		}
	}
}
EOF

	local name port admin access reqlog dir plugins telemetry
	for name in sluice sluice_rlog sluice_log sluice_edge sluice_trace; do
		plugins="" telemetry=""
		case $name in
		sluice) port=$P_SLUICE admin=$P_SLUICE_ADMIN access=off reqlog=false dir=sluice ;;
		sluice_rlog) port=$P_SLUICE_RLOG admin=$P_SLUICE_RLOG_ADMIN access=off reqlog=true dir=sluice-rlog ;;
		sluice_log) port=$P_SLUICE_LOG admin=$P_SLUICE_LOG_ADMIN access="$TMP/sluice-access.log" reqlog=true dir=sluice-log ;;
		sluice_edge)
			port=$P_SLUICE_EDGE admin=$P_SLUICE_EDGE_ADMIN access=off reqlog=false dir=sluice-edge
			# A limit far above what the machine can do: the cost of the
			# decision is measured, not rejections.
			plugins="    plugins:
      key-auth: {}
      rate-limit: { limit: 1000000000, window: 1h, by: consumer, backend: memory }
consumers:
  - name: bench
    credentials: [{ type: key-auth, key: \"$EDGE_KEY\" }]"
			;;
		sluice_trace)
			port=$P_SLUICE_TRACE admin=$P_SLUICE_TRACE_ADMIN access=off reqlog=false dir=sluice-trace
			telemetry="telemetry:
  tracing: { enabled: true, endpoint: \"http://127.0.0.1:$P_OTLP\", sample_ratio: 0.01 }"
			;;
		esac
		cat >"$TMP/$dir.yaml" <<EOF
server:
  listen: "127.0.0.1:$port"
  admin_listen: "127.0.0.1:$admin"
log:
  level: warn
  access: "$access"
  request_log: { enabled: $reqlog }
$telemetry
upstreams:
  - name: bench
    targets:
      - { url: "http://127.0.0.1:$P_UPSTREAM" }
    keep_alive: { max_idle: 128, idle_timeout: 300s }
routes:
  - name: bench
    match: { paths: ["/bench"] }
    upstream: bench
$plugins
EOF
	done
}

# ------------------------------------------------------------------- main --

install_missing
command -v wrk >/dev/null || die "wrk is not installed and could not be installed"
command -v curl >/dev/null || die "curl is not installed and could not be installed"
command -v nginx >/dev/null || die "nginx is not installed: it is the upstream, so nothing can be measured"
command -v haproxy >/dev/null || SKIP[haproxy]="haproxy not installed (package unavailable)"
command -v caddy >/dev/null || SKIP[caddy]="caddy not installed (package unavailable)"

if [[ -n ${SLUICE_BIN:-} ]]; then
	SLUICE=$SLUICE_BIN
else
	log "building sluice (make build)"
	make -C "$ROOT" build >&2 || die "make build failed" 1
	SLUICE=$ROOT/bin/sluice
fi
[[ -x $SLUICE ]] || die "no sluice binary at $SLUICE" 1

for p in $(seq $((PORT_BASE + 1)) $((PORT_BASE + 15))); do
	port_open "$p" && die "port $p is already in use; set BENCH_PORT_BASE"
done

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
TMP=$(mktemp -d /tmp/sluice-bench.XXXXXX)
chmod 755 "$TMP" # nginx workers run as nobody when started by root
mkdir -p "$RESULTS"
gen_configs

log "starting upstream and peers (temp dir $TMP)"
start upstream nginx -p "$TMP/upstream" -e "$TMP/upstream/error.log" -c "$TMP/upstream/nginx.conf"
PID[direct]=${PID[upstream]}
wait_ready direct || { cat "$TMP/upstream.log" "$TMP/upstream/error.log" >&2 2>/dev/null; die "the upstream nginx did not start"; }

start sluice "$SLUICE" serve --config "$TMP/sluice.yaml" --data "$TMP/sluice-data"
start sluice_log "$SLUICE" serve --config "$TMP/sluice-log.yaml" --data "$TMP/sluice-log-data"
mkdir -p "$TMP/sluice-edge-data" "$TMP/sluice-rlog-data" "$TMP/sluice-trace-data"
start sluice_rlog "$SLUICE" serve --config "$TMP/sluice-rlog.yaml" --data "$TMP/sluice-rlog-data"
start sluice_edge "$SLUICE" serve --config "$TMP/sluice-edge.yaml" --data "$TMP/sluice-edge-data"
start sluice_trace "$SLUICE" serve --config "$TMP/sluice-trace.yaml" --data "$TMP/sluice-trace-data"
start nginx nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
[[ -n ${SKIP[haproxy]:-} ]] || start haproxy haproxy -db -f "$TMP/haproxy.cfg"
[[ -n ${SKIP[caddy]:-} ]] || start caddy env XDG_DATA_HOME="$TMP/caddy" XDG_CONFIG_HOME="$TMP/caddy" HOME="$TMP/caddy" \
	caddy run --config "$TMP/caddy/Caddyfile" --adapter caddyfile

FATAL=()
for t in "${TARGETS[@]}"; do
	[[ -n ${SKIP[$t]:-} ]] && continue
	if ! wait_ready "$t"; then
		SKIP[$t]="failed to start (see bench/results/$STAMP/$t.log)"
		[[ $t == sluice* ]] && FATAL+=("$t did not start")
		continue
	fi
	for s in "${SCENARIOS[@]}"; do # every target must answer the exact body
		hdr=()
		[[ -n ${HDR[$t]:-} ]] && hdr=(-H "${HDR[$t]}")
		code=$(curl -s "${hdr[@]}" -o "$TMP/check" -w '%{http_code}' "http://127.0.0.1:${PORT[$t]}/bench/$s" || true)
		if [[ $code != 200 ]] || ! cmp -s "$TMP/check" "$TMP/body-$s"; then
			SKIP[$t]="wrong answer on /bench/$s (status $code, $(wc -c <"$TMP/check") bytes)"
			[[ $t == sluice* ]] && FATAL+=("$t answered /bench/$s wrongly: status $code")
			break
		fi
	done
done
for t in "${TARGETS[@]}"; do [[ -n ${SKIP[$t]:-} ]] && log "skipping ${NAME[$t]}: ${SKIP[$t]}"; done

# Machine facts, before the load.
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
GO_VERSION=$(go version 2>/dev/null | awk '{ print $3 }' || true)
V_SLUICE=$("$SLUICE" version 2>&1 | head -1 || true)
V_NGINX=$(nginx -v 2>&1 | sed 's/^nginx version: nginx\///')
# (Read the whole output: a version command killed by SIGPIPE would fail
# the pipeline and print "n/a" after the version.)
V_HAPROXY=$(command -v haproxy >/dev/null && haproxy -v 2>&1 | awk 'NR == 1 { print $3 }' || echo n/a)
V_CADDY=$(command -v caddy >/dev/null && caddy version 2>&1 | head -1 || echo n/a)
V_WRK=$(wrk -v 2>&1 | head -1 | awk '{ print $2 }' || true)
GIT_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# The load. Rounds interleave the targets so that drift from other work on
# the machine spreads over all of them rather than landing on one.
total=$(( ${#SCENARIOS[@]} * RUNS * ${#TARGETS[@]} * (WARMUP + DURATION) ))
log "measuring: ${#SCENARIOS[@]} scenarios x $RUNS rounds x ${#TARGETS[@]} targets, ~${total}s"
for s in "${SCENARIOS[@]}"; do
	mkdir -p "$RESULTS/$s"
	for ((r = 1; r <= RUNS; r++)); do
		for t in "${TARGETS[@]}"; do
			[[ -n ${SKIP[$t]:-} ]] && continue
			url="http://127.0.0.1:${PORT[$t]}/bench/$s"
			wrk_run "$WARMUP" "$url" "$RESULTS/$s/$t.warmup$r.txt" "${HDR[$t]:-}"
			wrk_run "$DURATION" "$url" "$RESULTS/$s/$t.run$r.txt" "${HDR[$t]:-}"
			read -r rps p50 p99 n2 se _ < <(parse_wrk "$RESULTS/$s/$t.run$r.txt")
			log "$s round $r ${NAME[$t]}: $rps req/s p50 $p50 p99 $p99 non2xx $n2 sockerr $se"
		done
	done
done
LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# Still alive? A proxy that died mid-run would show as socket errors too,
# but say it plainly.
for t in sluice sluice_rlog sluice_log sluice_edge sluice_trace nginx haproxy caddy; do
	[[ -n ${SKIP[$t]:-} ]] && continue
	if ! kill -0 "${PID[$t]}" 2>/dev/null; then
		log "${NAME[$t]} exited during the run"
		[[ $t == sluice* ]] && FATAL+=("$t exited during the run")
	fi
done
ACCESS_LINES=$(wc -l <"$TMP/sluice-access.log" 2>/dev/null || echo 0)
ACCESS_BYTES=$(wc -c <"$TMP/sluice-access.log" 2>/dev/null || echo 0)
# Stop the traced sluice first (SIGTERM flushes its last spans), then count
# the export requests the sink took and what it answered.
if [[ -z ${SKIP[sluice_trace]:-} ]]; then
	kill -TERM "${PID[sluice_trace]}" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do kill -0 "${PID[sluice_trace]}" 2>/dev/null || break; sleep 0.1; done
fi
OTLP_EXPORTS=$(grep -c 'POST /v1/traces' "$TMP/upstream/otlp.log" 2>/dev/null || true)
OTLP_OK=$(grep -c 'POST /v1/traces HTTP/1.1" 200' "$TMP/upstream/otlp.log" 2>/dev/null || true)
OTLP_EXPORTS=${OTLP_EXPORTS:-0} OTLP_OK=${OTLP_OK:-0}
for f in "$TMP"/*.yaml "$TMP"/haproxy.cfg; do cp "$f" "$RESULTS/"; done
cp "$TMP/upstream/nginx.conf" "$RESULTS/upstream-nginx.conf"
cp "$TMP/nginx/nginx.conf" "$RESULTS/nginx.conf"
cp "$TMP/caddy/Caddyfile" "$RESULTS/Caddyfile"
cp "$TMP/upstream/error.log" "$RESULTS/upstream-nginx.error.log" 2>/dev/null || true
cp "$TMP/nginx/error.log" "$RESULTS/nginx.error.log" 2>/dev/null || true
for t in upstream sluice sluice_rlog sluice_log sluice_edge sluice_trace nginx haproxy caddy; do [[ -f $TMP/$t.log ]] && cp "$TMP/$t.log" "$RESULTS/$t.log"; done
head -3 "$TMP/sluice-access.log" >"$RESULTS/sluice-access.sample.log" 2>/dev/null || true

# ---------------------------------------------------------------- summary --

# summarize SCENARIO prints one line per measured target:
# target median_rps p50_ms p99_ms non2xx sockerr "rps1/rps2/..."
# The latencies are those of the run with the median RPS; the error counts
# add up every run of the target, warm-ups included.
summarize() {
	local s=$1 t f rps p50 p99 n2 se lines med n2sum sesum runs
	for t in "${TARGETS[@]}"; do
		[[ -n ${SKIP[$t]:-} ]] && continue
		lines="" n2sum=0 sesum=0 runs=""
		for f in "$RESULTS/$s/$t".run*.txt; do
			read -r rps p50 p99 n2 se _ < <(parse_wrk "$f")
			lines+="$rps $(to_ms "$p50") $(to_ms "$p99")"$'\n'
			runs+="${runs:+/}$(printf '%.0f' "$rps")"
		done
		for f in "$RESULTS/$s/$t".*.txt; do
			read -r _ _ _ n2 se _ < <(parse_wrk "$f")
			n2sum=$((n2sum + n2)) sesum=$((sesum + se))
		done
		med=$(printf '%s' "$lines" | sort -n -k1,1 | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
		echo "$t $med $n2sum $sesum $runs"
	done
}

declare -A S_RPS S_P50 S_P99 S_N2 S_SE S_RUNS
for s in "${SCENARIOS[@]}"; do
	while read -r t rps p50 p99 n2 se runs; do
		S_RPS[$s,$t]=$rps S_P50[$s,$t]=$p50 S_P99[$s,$t]=$p99 S_N2[$s,$t]=$n2 S_SE[$s,$t]=$se S_RUNS[$s,$t]=$runs
		if [[ $t == sluice* ]] && ((n2 + se > 0)); then
			FATAL+=("${NAME[$t]} on /bench/$s: $n2 non-2xx/3xx responses, $se socket errors (see bench/results/$STAMP/$s/$t.*)")
		fi
	done < <(summarize "$s")
done

ratio() { # ratio A B -> A/B with 2 decimals, or n/a
	awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0 && a > 0) printf "%.2f", a / b; else printf "n/a" }'
}

# table SCENARIO prints the markdown table of a scenario.
table() {
	local s=$1 t nginx_rps=${S_RPS[$1,nginx]:-0} err
	echo "| target | RPS (median) | p50 ms | p99 ms | RPS / nginx | errors | RPS per run |"
	echo "|---|---:|---:|---:|---:|---:|---|"
	for t in "${TARGETS[@]}"; do
		if [[ -n ${SKIP[$t]:-} ]]; then
			echo "| ${NAME[$t]} | skipped: ${SKIP[$t]} | | | | | |"
			continue
		fi
		err=$((S_N2[$s,$t] + S_SE[$s,$t]))
		((err)) && err="**$err** (non-2xx ${S_N2[$s,$t]}, socket ${S_SE[$s,$t]})"
		local nm=${NAME[$t]}
		[[ $t == sluice ]] && nm="**sluice**"
		printf '| %s | %.0f | %s | %s | %s | %s | %s |\n' "$nm" "${S_RPS[$s,$t]}" "${S_P50[$s,$t]}" "${S_P99[$s,$t]}" \
			"$(ratio "${S_RPS[$s,$t]}" "$nginx_rps")" "$err" "${S_RUNS[$s,$t]}"
	done
}

headline() { # headline SCENARIO
	local s=$1
	printf '**sluice / nginx = %s** (RPS), sluice / direct = %s, sluice with access + request log / nginx = %s, sluice with the request log / plain sluice = %s, sluice with key-auth + rate-limit / plain sluice = %s, sluice with tracing at 1%% / plain sluice = %s' \
		"$(ratio "${S_RPS[$s,sluice]:-0}" "${S_RPS[$s,nginx]:-0}")" \
		"$(ratio "${S_RPS[$s,sluice]:-0}" "${S_RPS[$s,direct]:-0}")" \
		"$(ratio "${S_RPS[$s,sluice_log]:-0}" "${S_RPS[$s,nginx]:-0}")" \
		"$(ratio "${S_RPS[$s,sluice_rlog]:-0}" "${S_RPS[$s,sluice]:-0}")" \
		"$(ratio "${S_RPS[$s,sluice_edge]:-0}" "${S_RPS[$s,sluice]:-0}")" \
		"$(ratio "${S_RPS[$s,sluice_trace]:-0}" "${S_RPS[$s,sluice]:-0}")"
}

# The AI gateway section belongs to bench/ai.sh: keep it across the rewrite.
AI_SECTION=$(sed -n '/^<!-- ai-gateway:begin/,/^<!-- ai-gateway:end -->/p' "$OUT" 2>/dev/null || true)

{
	echo "# Benchmarks"
	echo
	echo "Generated by \`bench/run.sh\` — do not edit by hand; rerun the script. How to run it and"
	echo "its caveats: [bench/README.md](bench/README.md)."
	echo
	if ((${#FATAL[@]})); then
		echo "> **FAILED — sluice misbehaved during this run:**"
		for m in "${FATAL[@]}"; do echo "> - $m"; done
		echo
	fi
	echo "## Run"
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "- Machine: $(nproc) CPUs ($CPU_MODEL), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
	echo "- Load average before / after: $LOADAVG_BEFORE / $LOADAVG_AFTER"
	echo "- sluice: $V_SLUICE, built from $GIT_REV with ${GO_VERSION:-unknown Go}"
	echo "- Peers: nginx $V_NGINX, HAProxy $V_HAPROXY, Caddy $V_CADDY (Debian packages); load generator wrk $V_WRK"
	echo "- Raw wrk outputs and the exact configs: \`bench/results/$STAMP/\` (not committed)"
	echo
	echo "## Method"
	echo
	echo "- **Everything shares $(nproc) cores**: wrk ($THREADS threads), the upstream and the proxy under test run"
	echo "  on the same machine, so the numbers compare the proxies' cost per request under CPU"
	echo "  contention, not what any of them does on dedicated hardware. The machine is shared with"
	echo "  other work (see the load averages), which adds noise."
	echo "- Upstream: a separate nginx instance (1 worker, access log off) answering \`return 200\` with a"
	echo "  fixed body from memory: 1 KiB on \`/bench/1k\`, 16 KiB on \`/bench/16k\`. Every target"
	echo "  proxies the same route \`/bench\` to it over loopback, and every target's answer was checked"
	echo "  byte for byte against the body before the load."
	echo "- Load: \`wrk -t$THREADS -c$CONNS -d${DURATION}s --latency\` (HTTP/1.1 keep-alive), after a ${WARMUP} s warm-up"
	echo "  with the same settings. Rounds: $RUNS; each round runs every target once, in turn. RPS is the"
	echo "  median of the $RUNS runs; p50/p99 come from the run with the median RPS. \"errors\" adds up"
	echo "  wrk's non-2xx/3xx responses and socket errors over all runs of the target, warm-ups included."
	echo "- sluice: access log and request log off, one upstream with one target, keep-alive pool of 128."
	echo "  \"sluice (access log + request log on)\" is the same with the access log written to a file in"
	echo "  the run's temp dir ($ACCESS_LINES lines, $((ACCESS_BYTES / 1048576)) MiB written in this run) and every request's"
	echo "  summary offered to the SQLite request log (its defaults)."
	echo "  \"sluice (request log on)\" is plain sluice with the store-backed request log at its defaults"
	echo "  (SQLite; every failure, and up to 1000 successful requests a second, recorded)."
	echo "  \"sluice (key-auth + rate-limit)\" adds key-auth (wrk sends the key in \`x-api-key\`) and a"
	echo "  memory rate-limit by consumer with a limit far above the load, so every request pays for both."
	echo "  \"sluice (tracing 1%)\" is plain sluice with OpenTelemetry tracing on at \`sample_ratio: 0.01\`,"
	echo "  exporting OTLP/HTTP (protobuf, batched) to a sink on the upstream nginx that answers every"
	echo "  export with an empty 200 ($OTLP_EXPORTS export requests in this run, $OTLP_OK answered 200): one"
	echo "  request in a hundred gets a server and an attempt span, every other one carries an unsampled"
	echo "  \`traceparent\` to the upstream."
	echo "- nginx: \`worker_processes auto\`, \`upstream\` block with \`keepalive 128\`, \`proxy_http_version 1.1\`,"
	echo "  \`Connection \"\"\`, access log off. HAProxy: \`mode http\`, \`nbthread $(nproc)\`, keep-alive and"
	echo "  \`http-reuse always\` to the upstream, no logging. Caddy: \`reverse_proxy\` with an idle pool of"
	echo "  128 per host, no access log, admin API off. All listen on 127.0.0.1 on unprivileged ports."
	for s in "${SCENARIOS[@]}"; do
		echo
		echo "## ${CONNS} connections, ${SCEN_BYTES[$s]}-byte response (\`/bench/$s\`)"
		echo
		headline "$s"
		echo
		echo
		table "$s"
	done
} >"$OUT"

# text_table aligns the columns of a markdown table read on stdin.
text_table() {
	awk -F'|' '
		{ for (i = 2; i < NF; i++) { c = $i; gsub(/^ +| +$/, "", c); cell[NR, i] = c; if (length(c) > w[i]) w[i] = length(c) } n = NF }
		END { for (r = 1; r <= NR; r++) { line = ""; for (i = 2; i < n; i++) line = line sprintf("%-" w[i] "s  ", cell[r, i]); sub(/ +$/, "", line); print line } }'
}

echo
for s in "${SCENARIOS[@]}"; do
	echo "== $CONNS connections, ${SCEN_BYTES[$s]}-byte response =="
	headline "$s" | tr -d '*'
	echo
	table "$s" | grep -v '^|---' | sed 's/\*\*//g' | text_table
	echo
done
# Request log store writes, from the Go benchmarks, appended to the report.
if [[ ${BENCH_GO:-1} == 1 ]] && command -v go >/dev/null; then
	log "request log write throughput (go test -bench InsertRequestLogs)"
	(cd "$ROOT" && go test -run '^$' -bench InsertRequestLogs -benchtime 2s \
		./internal/store/sqlite ./internal/store/postgres >"$RESULTS/store-bench.txt" 2>&1) || true
	{
		echo
		echo "## Request log: store write throughput"
		echo
		echo "\`go test -bench InsertRequestLogs\` on the same machine: one batch insert per transaction"
		echo "(SQLite: one multi-row INSERT; PostgreSQL: COPY)."
		echo
		echo "| backend | batch | rows/s |"
		echo "|---|---:|---:|"
		awk '/^pkg:/ { n = split($2, p, "/"); db = p[n] }
			/^BenchmarkInsertRequestLogs/ {
				split($1, b, "="); sub(/-[0-9]+$/, "", b[2])
				for (i = 1; i <= NF; i++) if ($i == "rows/s") printf "| %s | %s | %.0f |\n", db, b[2], $(i-1)
			}' "$RESULTS/store-bench.txt"
	} >>"$OUT"
fi

# What tracing adds per request, from the Go benchmark (one keep-alive
# client, so ns/op is latency; allocs/op counts the whole process).
if [[ ${BENCH_GO:-1} == 1 ]] && command -v go >/dev/null; then
	log "tracing cost per request (go test -bench ProxyTracing)"
	(cd "$ROOT" && go test -run '^$' -bench 'ProxyTracing' -benchmem -benchtime 20000x -count 3 \
		./internal/app >"$RESULTS/tracing-bench.txt" 2>&1) || true
	{
		echo
		echo "## Tracing: cost per request"
		echo
		echo "\`go test -bench ProxyTracing ./internal/app\` on the same machine: one keep-alive client sends"
		echo "requests in turn through a gateway to a 1 KiB upstream; spans go to an OTLP/HTTP receiver in the"
		echo "same process. Median of 3 runs of 20000 requests; allocs/op counts the whole process."
		echo
		echo "| tracing | ns/op | allocs/op |"
		echo "|---|---:|---:|"
		for variant in off ratio-0.01 ratio-1; do
			grep "^BenchmarkProxyTracing/$variant-" "$RESULTS/tracing-bench.txt" |
				awk '{ for (i = 1; i <= NF; i++) { if ($i == "ns/op") ns = $(i-1); if ($i == "allocs/op") al = $(i-1) } print ns, al }' |
				sort -n | awk -v v="$variant" '{ ns[NR] = $1; al[NR] = $2 } END { if (NR) printf "| %s | %.0f | %s |\n", v, ns[int((NR + 1) / 2)], al[int((NR + 1) / 2)] }' || true
		done
	} >>"$OUT"
fi

if [[ -n $AI_SECTION ]]; then
	printf '\n%s\n' "$AI_SECTION" >>"$OUT"
fi
# BENCH_AI=1 also runs the AI gateway harness (about 8 minutes more).
if [[ ${BENCH_AI:-0} == 1 ]]; then
	BENCH_OUT="$OUT" SLUICE_BIN="$SLUICE" "$BENCH_DIR/ai.sh" || log "bench/ai.sh failed (see its output)"
fi

log "report: $OUT; raw outputs: $RESULTS"

if ((${#FATAL[@]})); then
	printf '\n[bench] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
	for m in "${FATAL[@]}"; do printf '[bench] FAIL: %s\n' "$m" >&2; done
	printf '[bench] !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
	exit 1
fi
