#!/usr/bin/env bash
# bench/ai.sh — AI gateway load harness: sluice against Portkey's open-source
# gateway, both in front of the same fast mock LLM provider.
#
# In one run it starts the mock (bench/cmd/llmmock: canned OpenAI and
# Anthropic answers, streamed or not), sluice with an `ai: {}` route in front
# of it, and Portkey's gateway (@portkey-ai/gateway from npm, run with node)
# pointed at the same mock with x-portkey-custom-host. The load generator
# (bench/cmd/aiload) POSTs an OpenAI chat request in four scenarios —
# OpenAI->OpenAI and OpenAI->Anthropic, unary and stream — to each target and
# straight to the mock:
#   latency:    1 connection, one request at a time; overhead = gateway
#               percentile minus direct percentile (p50, p99);
#   throughput: BENCH_AI_CONNS connections; requests per second.
# Each measurement is repeated BENCH_AI_RUNS times (rounds interleave the
# targets) and the median is reported. It then runs the Go benchmarks of
# internal/ai (in-process overhead, allocations, memory per open stream) and
# writes everything as the "AI gateway" section of BENCHMARKS.md (between
# the ai-gateway markers; bench/run.sh keeps that section when it rewrites
# the file). Raw outputs go to bench/results/ai-<UTC timestamp>/.
#
# Two reference targets carry the same request as direct through a proxy
# that does no AI work: sluice's own plain proxy route, and nginx (Debian's
# package, installed with apt-get when absent and run as root) as a plain
# keep-alive reverse proxy. They are the floor on this machine: what one
# more loopback hop between processes costs, whatever the gateway does.
#
# Knobs (environment): BENCH_AI_DURATION seconds per run (5), BENCH_AI_WARMUP
# seconds (1), BENCH_AI_RUNS (3), BENCH_AI_CONNS (16), BENCH_AI_CHUNKS text
# deltas per streamed answer (20), BENCH_AI_PORT_BASE (18500; uses the next 4
# ports), BENCH_AI_PORTKEY_VERSION (1.15.2), BENCH_AI_NODE_DIR (where Portkey is
# npm-installed; bench/results/portkey-node), BENCH_AI_GO=0 to skip the Go
# benchmarks, SLUICE_BIN to use a prebuilt binary, BENCH_OUT (BENCHMARKS.md).
#
# Exit status: 0 on success (Portkey failing to install or start is reported,
# not fatal); 1 if sluice failed to start, answered wrongly or had errors under
# load; 2 on a harness problem (no Go, port in use).

set -Eeuo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)

DURATION=${BENCH_AI_DURATION:-5}
WARMUP=${BENCH_AI_WARMUP:-1}
RUNS=${BENCH_AI_RUNS:-3}
CONNS=${BENCH_AI_CONNS:-16}
CHUNKS=${BENCH_AI_CHUNKS:-20}
PORT_BASE=${BENCH_AI_PORT_BASE:-18500}
PORTKEY_VERSION=${BENCH_AI_PORTKEY_VERSION:-1.15.2}
NODE_DIR=${BENCH_AI_NODE_DIR:-$BENCH_DIR/results/portkey-node}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}

P_MOCK=$((PORT_BASE + 1))
P_SLUICE=$((PORT_BASE + 2))
P_SLUICE_ADMIN=$((PORT_BASE + 3))
P_PORTKEY=$((PORT_BASE + 4))
P_NGINX=$((PORT_BASE + 5))
MOCK=http://127.0.0.1:$P_MOCK

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS="$BENCH_DIR/results/ai-$STAMP"
TMP=""
PIDS=()
PORTKEY_SKIP=""
NGINX_SKIP=""
FATAL=()

log() { printf '[bench-ai] %s\n' "$*" >&2; }
die() { printf '[bench-ai] ERROR: %s\n' "$*" >&2; exit "${2:-2}"; }

cleanup() {
	local rc=$? pid i
	trap - EXIT INT TERM
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	[[ -n $TMP && -d $TMP ]] && rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME CMD... runs CMD in the background with its output in the
# results directory.
start() {
	local name=$1
	shift
	"$@" >"$RESULTS/$name.log" 2>&1 &
	PIDS+=($!)
	eval "PID_$name=$!"
}

wait_port() { # wait_port PORT: up to 15 s
	local i
	for ((i = 0; i < 150; i++)); do port_open "$1" && return 0; sleep 0.1; done
	return 1
}

# ------------------------------------------------------------------ build --

command -v go >/dev/null || die "Go is needed to build the mock and the load generator"
for p in $P_MOCK $P_SLUICE $P_SLUICE_ADMIN $P_PORTKEY $P_NGINX; do
	port_open "$p" && die "port $p is already in use; set BENCH_AI_PORT_BASE"
done
TMP=$(mktemp -d /tmp/sluice-bench-ai.XXXXXX)
mkdir -p "$RESULTS"
if [[ -n ${SLUICE_BIN:-} ]]; then
	SLUICE=$SLUICE_BIN
else
	log "building sluice (make build)"
	make -C "$ROOT" build >&2 || die "make build failed" 1
	SLUICE=$ROOT/bin/sluice
fi
[[ -x $SLUICE ]] || die "no sluice binary at $SLUICE" 1
(cd "$ROOT" && go build -o "$TMP/llmmock" ./bench/cmd/llmmock && go build -o "$TMP/aiload" ./bench/cmd/aiload) ||
	die "could not build bench/cmd/llmmock and bench/cmd/aiload"

# Portkey: npm-installed once into NODE_DIR. @hono/node-server is pinned
# below 1.14: with later versions Portkey's streamed answers fail with
# "TypeError: immutable" (Portkey-AI/gateway issue 1389).
install_portkey() {
	command -v node >/dev/null && command -v npm >/dev/null || { PORTKEY_SKIP="node/npm not installed"; return; }
	local have=""
	[[ -f $NODE_DIR/node_modules/@portkey-ai/gateway/package.json ]] &&
		have=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$NODE_DIR/node_modules/@portkey-ai/gateway/package.json")
	[[ $have == "$PORTKEY_VERSION" ]] && return
	log "npm install @portkey-ai/gateway@$PORTKEY_VERSION into $NODE_DIR"
	mkdir -p "$NODE_DIR"
	cat >"$NODE_DIR/package.json" <<EOF
{
  "private": true,
  "dependencies": { "@portkey-ai/gateway": "$PORTKEY_VERSION" },
  "overrides": { "@hono/node-server": "1.13.8" }
}
EOF
	if ! (cd "$NODE_DIR" && npm install --no-audit --no-fund) >"$RESULTS/npm-install.log" 2>&1; then
		PORTKEY_SKIP="npm install of @portkey-ai/gateway@$PORTKEY_VERSION failed (see bench/results/ai-$STAMP/npm-install.log)"
	fi
}
install_portkey

# nginx: Debian's package. Its own system service is kept from starting
# (policy-rc.d): only the private instance below runs.
install_nginx() {
	command -v nginx >/dev/null && return
	if ((EUID != 0)) || ! command -v apt-get >/dev/null; then NGINX_SKIP="nginx is not installed"; return; fi
	log "apt-get install nginx"
	local policy=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1
	fi
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; } >"$RESULTS/apt-nginx.log" 2>&1 ||
		NGINX_SKIP="apt-get install nginx failed (see bench/results/ai-$STAMP/apt-nginx.log)"
	((policy)) && rm -f /usr/sbin/policy-rc.d
	command -v nginx >/dev/null || NGINX_SKIP=${NGINX_SKIP:-"nginx is not installed"}
}
install_nginx

# ------------------------------------------------------------------ start --

cat >"$TMP/sluice.yaml" <<EOF
server:
  listen: "127.0.0.1:$P_SLUICE"
  admin_listen: "127.0.0.1:$P_SLUICE_ADMIN"
log:
  level: warn
  access: "off"
  request_log: { enabled: false }
upstreams:
  - name: mock
    targets: [{ url: "$MOCK" }]
routes:
  - name: ai
    match: { paths: ["/v1"] }
    ai: {}
  - name: proxy
    match: { paths: ["/proxy"] }
    upstream: mock
ai:
  providers:
    - { name: oa, type: openai, base_url: "$MOCK/v1", api_keys: ["sk-bench-oa"] }
    - { name: an, type: anthropic, base_url: "$MOCK", api_keys: ["sk-bench-an"] }
  models:
    - { name: gpt, targets: [{ provider: oa, model: gpt-4o }] }
    - { name: claude, targets: [{ provider: an, model: claude-sonnet-4-5 }] }
  prices:
    "oa/gpt-4o": { input: 2.5, output: 10 }
    "an/claude-sonnet-4-5": { input: 3, output: 15 }
EOF
cp "$TMP/sluice.yaml" "$RESULTS/"

start mock "$TMP/llmmock" -listen "127.0.0.1:$P_MOCK" -chunks "$CHUNKS"
wait_port "$P_MOCK" || die "the mock did not start (see $RESULTS/mock.log)"
mkdir -p "$TMP/sluice-data"
start sluice "$SLUICE" serve --config "$TMP/sluice.yaml" --data "$TMP/sluice-data"
wait_port "$P_SLUICE" || FATAL+=("sluice did not start (see bench/results/ai-$STAMP/sluice.log)")
if [[ -z $NGINX_SKIP ]]; then
	mkdir -p "$TMP/nginx"
	chmod 755 "$TMP" # nginx workers run as nobody when started by root
	cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes auto;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    upstream mock {
        server 127.0.0.1:$P_MOCK;
        keepalive 64;
        keepalive_requests 10000000;
    }
    server {
        listen 127.0.0.1:$P_NGINX;
        location / {
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
EOF
	cp "$TMP/nginx/nginx.conf" "$RESULTS/"
	start nginx nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
	wait_port "$P_NGINX" || NGINX_SKIP="nginx did not start (see bench/results/ai-$STAMP/nginx.log)"
fi
if [[ -z $PORTKEY_SKIP ]]; then
	start portkey env NODE_ENV=production node "$NODE_DIR/node_modules/@portkey-ai/gateway/build/start-server.js" \
		"--port=$P_PORTKEY" --headless
	wait_port "$P_PORTKEY" || PORTKEY_SKIP="Portkey did not start (see bench/results/ai-$STAMP/portkey.log)"
fi

# ------------------------------------------------------------- scenarios --

SYS="You are a terse assistant."
USER_MSG="Say something short about gateways."
oa_body() { # oa_body MODEL STREAM
	local s=""
	[[ $2 == stream ]] && s=',"stream":true,"stream_options":{"include_usage":true}'
	printf '{"model":"%s","messages":[{"role":"system","content":"%s"},{"role":"user","content":"%s"}],"max_tokens":64,"temperature":0.2%s}' "$1" "$SYS" "$USER_MSG" "$s"
}
an_body() { # an_body MODEL STREAM
	local s=""
	[[ $2 == stream ]] && s=',"stream":true'
	printf '{"model":"%s","max_tokens":64,"temperature":0.2,"system":"%s","messages":[{"role":"user","content":"%s"}]%s}' "$1" "$SYS" "$USER_MSG" "$s"
}

SCENARIOS=(openai-openai-unary openai-openai-stream openai-anthropic-unary openai-anthropic-stream)
TARGETS=(direct nginx proxy sluice portkey)
declare -A URL BODY EXPECT HDRS
for s in "${SCENARIOS[@]}"; do
	mode=${s##*-}
	provider=${s#openai-}
	provider=${provider%-*}
	if [[ $mode == stream ]]; then gw_end="data: [DONE]"; else gw_end="}"; fi
	URL[$s,sluice]="http://127.0.0.1:$P_SLUICE/v1/chat/completions"
	URL[$s,portkey]="http://127.0.0.1:$P_PORTKEY/v1/chat/completions"
	EXPECT[$s,sluice]=$gw_end EXPECT[$s,portkey]=$gw_end
	if [[ $provider == openai ]]; then
		URL[$s,direct]="$MOCK/v1/chat/completions"
		BODY[$s,direct]=$(oa_body gpt-4o "$mode")
		HDRS[$s,direct]="Authorization: Bearer sk-bench-oa"
		if [[ $mode == stream ]]; then EXPECT[$s,direct]="data: [DONE]"; else EXPECT[$s,direct]="}}"; fi
		BODY[$s,sluice]=$(oa_body gpt "$mode")
		BODY[$s,portkey]=$(oa_body gpt-4o "$mode")
	else
		URL[$s,direct]="$MOCK/v1/messages"
		BODY[$s,direct]=$(an_body claude-sonnet-4-5 "$mode")
		HDRS[$s,direct]="x-api-key: sk-bench-an|anthropic-version: 2023-06-01"
		if [[ $mode == stream ]]; then EXPECT[$s,direct]='data: {"type":"message_stop"}'; else EXPECT[$s,direct]="}}"; fi
		BODY[$s,sluice]=$(oa_body claude "$mode")
		BODY[$s,portkey]=$(oa_body claude-sonnet-4-5 "$mode")
	fi
	HDRS[$s,sluice]=""
	# The floor: the direct request through sluice's plain proxy route.
	URL[$s,proxy]="http://127.0.0.1:$P_SLUICE/proxy${URL[$s,direct]#"$MOCK"}"
	BODY[$s,proxy]=${BODY[$s,direct]} HDRS[$s,proxy]=${HDRS[$s,direct]} EXPECT[$s,proxy]=${EXPECT[$s,direct]}
	URL[$s,nginx]="http://127.0.0.1:$P_NGINX${URL[$s,direct]#"$MOCK"}"
	BODY[$s,nginx]=${BODY[$s,direct]} HDRS[$s,nginx]=${HDRS[$s,direct]} EXPECT[$s,nginx]=${EXPECT[$s,direct]}
	HDRS[$s,portkey]="x-portkey-provider: $provider|x-portkey-custom-host: $MOCK/v1|Authorization: Bearer sk-bench-$([[ $provider == openai ]] && echo oa || echo an)"
done

# load LABEL SCENARIO TARGET CONNS DURATION WARMUP prints aiload's line.
load() {
	local label=$1 s=$2 t=$3 hdr=() h
	if [[ -n ${HDRS[$s,$t]} ]]; then
		IFS='|' read -r -a hs <<<"${HDRS[$s,$t]}"
		for h in "${hs[@]}"; do hdr+=(-H "$h"); done
	fi
	"$TMP/aiload" run -label "$label" -url "${URL[$s,$t]}" "${hdr[@]}" -body "${BODY[$s,$t]}" \
		-expect "${EXPECT[$s,$t]}" -c "$4" -d "${5}s" -warmup "${6}s"
}

# Every target must answer every scenario completely before any load.
for t in "${TARGETS[@]}"; do
	[[ $t == portkey && -n $PORTKEY_SKIP ]] && continue
	[[ $t == nginx && -n $NGINX_SKIP ]] && continue
	[[ ($t == sluice || $t == proxy) && ${#FATAL[@]} -gt 0 ]] && continue
	for s in "${SCENARIOS[@]}"; do
		read -r _ _ _ _ _ n errs first < <(load "check/$s/$t" "$s" "$t" 1 0.3 0) || true
		if [[ ${n:-0} == 0 || ${errs:-1} != 0 ]]; then
			msg="wrong answer on $s: ${first:-no output}"
			if [[ $t == portkey ]]; then PORTKEY_SKIP=$msg; break; fi
			if [[ $t == nginx ]]; then NGINX_SKIP=$msg; break; fi
			[[ $t == sluice || $t == proxy ]] && FATAL+=("sluice ($t): $msg") && break
			die "the mock answered wrongly on $s: ${first:-}"
		fi
	done
done
[[ -n $PORTKEY_SKIP ]] && log "Portkey skipped: $PORTKEY_SKIP"
[[ -n $NGINX_SKIP ]] && log "nginx skipped: $NGINX_SKIP"
((${#FATAL[@]})) && die "${FATAL[*]}" 1

CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
V_SLUICE=$("$SLUICE" version 2>&1 | head -1 || true)
V_NGINX=n/a
[[ -z $NGINX_SKIP ]] && V_NGINX=$(nginx -v 2>&1 | sed 's/^nginx version: //')
V_NODE=$(node --version 2>/dev/null || echo n/a)
V_HONO=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$NODE_DIR/node_modules/@hono/node-server/package.json" 2>/dev/null || echo n/a)
GIT_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)

# ------------------------------------------------------------------- load --

total=$((2 * RUNS * ${#SCENARIOS[@]} * ${#TARGETS[@]} * (WARMUP + DURATION)))
log "measuring: 2 modes x $RUNS rounds x ${#SCENARIOS[@]} scenarios x ${#TARGETS[@]} targets, ~${total}s"
: >"$RESULTS/runs.txt"
for mode in latency throughput; do
	c=1
	[[ $mode == throughput ]] && c=$CONNS
	for ((r = 1; r <= RUNS; r++)); do
		for s in "${SCENARIOS[@]}"; do
			for t in "${TARGETS[@]}"; do
				[[ $t == portkey && -n $PORTKEY_SKIP ]] && continue
				[[ $t == nginx && -n $NGINX_SKIP ]] && continue
				line=$(load "$s/$mode/$t/$r" "$s" "$t" "$c" "$DURATION" "$WARMUP") || line=""
				[[ -n $line ]] || { FATAL+=("aiload failed on $s/$mode/$t"); continue; }
				echo "$line" >>"$RESULTS/runs.txt"
				log "$line"
			done
		done
	done
done
LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
kill -0 "$PID_sluice" 2>/dev/null || FATAL+=("sluice exited during the run")
while read -r label _ _ _ _ _ errs _; do
	[[ ($label == */sluice/* || $label == */proxy/*) && $errs != 0 ]] && FATAL+=("sluice had $errs errors in $label")
done <"$RESULTS/runs.txt"

# ------------------------------------------------------------ Go benches --

GO_TABLE=""
if [[ ${BENCH_AI_GO:-1} == 1 ]]; then
	log "go test -bench AIGateway and AIOpenStreams (internal/ai)"
	(cd "$ROOT" && go test -run '^$' -bench 'AIGateway' -benchtime 2000x ./internal/ai/ &&
		go test -run '^$' -bench 'AIOpenStreams' -benchtime 1x ./internal/ai/) >"$RESULTS/go-bench.txt" 2>&1 || true
	# metric VALUE-UNIT pairs after the name and N.
	GO_TABLE=$(awk '
		function m(u,   i) { for (i = 3; i < NF; i++) if ($(i+1) == u) return $i; return "" }
		/^BenchmarkAIGateway\// {
			n = $1; sub(/^BenchmarkAIGateway\//, "", n); sub(/-[0-9]+$/, "", n)
			printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.0f |\n", n, m("direct-p50-µs"), m("p50-µs"), m("overhead-p50-µs"), m("overhead-p99-µs"), m("gw-allocs/op"), m("gw-B/op")
		}' "$RESULTS/go-bench.txt")
	MEM_TABLE=$(awk '
		function m(u,   i) { for (i = 3; i < NF; i++) if ($(i+1) == u) return $i; return "" }
		/^BenchmarkAIOpenStreams\// {
			n = $1; sub(/^BenchmarkAIOpenStreams\//, "", n); sub(/-[0-9]+$/, "", n)
			printf "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n", n, m("gw-KB/stream"), m("gw-heap-KB/stream"), m("gw-stack-KB/stream"), m("direct-KB/stream"), m("total-KB/stream"), m("gw-goroutines/stream")
		}' "$RESULTS/go-bench.txt")
fi

# ---------------------------------------------------------------- report --

SECTION="$TMP/section.md"
{
	echo "<!-- ai-gateway:begin (written by bench/ai.sh; bench/run.sh keeps it) -->"
	echo "## AI gateway: sluice and Portkey in front of the same mock provider"
	echo
	if ((${#FATAL[@]})); then
		echo "> **FAILED — sluice misbehaved during this run:**"
		for m in "${FATAL[@]}"; do echo "> - $m"; done
		echo
	fi
	echo "Generated by \`bench/ai.sh\` (see [bench/README.md](bench/README.md)); rerun it rather than editing."
	echo
	echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) shared CPUs ($CPU_MODEL), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM."
	echo "  The 2 cores are shared with other work (load average before / after:"
	echo "  $LOADAVG_BEFORE / $LOADAVG_AFTER), so every number is noisy: each is the median of $RUNS short runs."
	echo "- sluice: $V_SLUICE, built from $GIT_REV; one \`ai: {}\` route, no plugins, access log and request log off"
	echo "  (usage is still recorded)."
	if [[ -n $PORTKEY_SKIP ]]; then
		echo "- Portkey: **not measured — $PORTKEY_SKIP**."
	else
		echo "- Portkey: \`@portkey-ai/gateway@$PORTKEY_VERSION\` from npm on node $V_NODE (\`--headless\`, \`NODE_ENV=production\`),"
		echo "  \`@hono/node-server\` pinned to $V_HONO (later versions break its streams: Portkey-AI/gateway issue 1389);"
		echo "  pointed at the mock per request with \`x-portkey-provider\` and \`x-portkey-custom-host\`."
	fi
	if [[ -n $NGINX_SKIP ]]; then
		echo "- nginx: **not measured — $NGINX_SKIP**."
	else
		echo "- nginx: $V_NGINX (Debian), \`worker_processes auto\`, a keep-alive \`upstream\` to the mock, \`proxy_buffering off\`,"
		echo "  access log off: a plain reverse proxy, for the cost of the hop alone."
	fi
	echo "- Mock provider: \`bench/cmd/llmmock\`, one Go process answering canned OpenAI Chat Completions and Anthropic"
	echo "  Messages bodies; a streamed answer is $CHUNKS text deltas, each event flushed on its own."
	echo "- Load: \`bench/cmd/aiload\` POSTs the same OpenAI chat body (system + user message) to each target and the"
	echo "  equivalent request straight to the mock (\"direct\"), checking every answer is complete. Latency is the"
	echo "  time to the last byte, so a stream's latency covers all its events. ${DURATION} s per run after ${WARMUP} s warm-up;"
	echo "  rounds interleave the targets. Everything (load generator, mock, gateway) shares the 2 cores."
	echo
	echo "Goals (issue 5): p50 overhead ≤ 0.1 ms and ≥ 20× below Portkey's; memory per open stream ≤ 20 KB."
	echo "Reading the tables: Portkey's stream reader pauses 25 ms (a \`setTimeout\` in its published build) before"
	echo "it passes on the first chunk, so that fixed pause is most of its stream overhead; the unary rows show its"
	echo "per-request cost without it. The \"plain proxy\" rows are the floor on this machine: the same request as"
	echo "direct, through a plain proxy route of the same sluice process (no AI work at all) and through nginx, so the"
	echo "cost of one more loopback hop between processes on 2 shared cores; \"AI work\" is the AI route's overhead minus"
	echo "sluice's own floor. \"Portkey / nginx's hop\" is the ratio a gateway would reach if its AI work were free and its"
	echo "hop as cheap as nginx's: the ceiling of the Portkey ratio on this machine."
	echo
	"$TMP/aiload" report "$RESULTS/runs.txt"
	if [[ -n $GO_TABLE ]]; then
		echo
		echo "### In-process (Go benchmarks, \`go test -bench 'AIGateway|AIOpenStreams' ./internal/ai/\`)"
		echo
		echo "A real gateway on loopback in front of the mock, in the test process; 2000 sequential requests per case,"
		echo "first straight to the mock, then through the gateway. \"proxy-only\" is the same OpenAI request through a plain"
		echo "proxy route (no AI): the cost of the extra hop alone. gw-allocs/op and gw-B/op are the allocations of the"
		echo "gateway path minus those of the direct path (the gateway's share, both its connections included)."
		echo
		echo "| case | direct p50 µs | gateway p50 µs | overhead p50 µs | overhead p99 µs | gw allocs/op | gw B/op |"
		echo "|---|---:|---:|---:|---:|---:|---:|"
		echo "$GO_TABLE"
		echo
		echo "Memory per open stream: 1000 streams held open mid-answer (the mock holds each after its first events; every"
		echo "client has its first chunk), live heap + goroutine stacks after a GC, divided by 1000. \"gateway\" is through-gateway"
		echo "minus direct (goal: ≤ 20 KB); \"direct\" is the client and the mock alone."
		echo
		echo "| client → provider | gateway KB/stream | of which heap | of which stacks | direct KB/stream | total KB/stream | gateway goroutines/stream |"
		echo "|---|---:|---:|---:|---:|---:|---:|"
		echo "$MEM_TABLE"
	fi
	echo
	echo "Raw outputs: \`bench/results/ai-$STAMP/\` (not committed)."
	echo "<!-- ai-gateway:end -->"
} >"$SECTION"
cp "$SECTION" "$RESULTS/section.md"

# Replace the section in OUT (or append it).
if [[ -f $OUT ]] && grep -q '^<!-- ai-gateway:begin' "$OUT"; then
	awk -v sec="$SECTION" '
		/^<!-- ai-gateway:begin/ { while ((getline l < sec) > 0) print l; skip = 1; next }
		/^<!-- ai-gateway:end -->/ { skip = 0; next }
		!skip' "$OUT" >"$TMP/out.md"
	cp "$TMP/out.md" "$OUT"
else
	{ [[ -f $OUT ]] && echo; cat "$SECTION"; } >>"$OUT"
fi
cat "$SECTION"
log "report: $OUT; raw outputs: $RESULTS"
if ((${#FATAL[@]})); then
	for m in "${FATAL[@]}"; do printf '[bench-ai] FAIL: %s\n' "$m" >&2; done
	exit 1
fi
