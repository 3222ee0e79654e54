package config

import (
	"errors"
	"strings"
	"testing"
)

// yamlLines joins lines into a document, so a test can count lines by
// position: the first string is line 1.
func yamlLines(lines ...string) []byte {
	return []byte(strings.Join(lines, "\n") + "\n")
}

// TestParseProblems pins the exact report `sluice config validate` prints
// for files with mistakes, several per file.
func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		yaml []byte
		want []string
	}{
		{
			name: "tab indentation",
			yaml: yamlLines(
				"server:",
				"\tlisten: x",
			),
			want: []string{
				"test.yaml:2: invalid YAML: found character that cannot start any token (indent with spaces: YAML does not allow tabs)",
			},
		},
		{
			name: "unclosed flow list",
			yaml: yamlLines(
				"upstreams:",
				"  - name: a",
				`    targets: [{url: "http://a"}`,
				"routes: []",
			),
			want: []string{"test.yaml:3: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "syntax error on the first line",
			yaml: yamlLines("server: listen: x"),
			want: []string{"test.yaml:1: invalid YAML: mapping values are not allowed in this context"},
		},
		{
			name: "unknown alias",
			yaml: yamlLines(
				"server:",
				"  listen: *port",
			),
			want: []string{"test.yaml:2: invalid YAML: unknown anchor 'port' referenced"},
		},
		{
			name: "not a mapping",
			yaml: yamlLines("- server", "- routes"),
			want: []string{"test.yaml:1: the config file must be a mapping of sections like server:, upstreams: and routes:"},
		},
		{
			name: "two documents",
			yaml: yamlLines("server: {}", "---", "routes: []"),
			want: []string{"test.yaml:2: the config file must hold a single YAML document; remove this ---"},
		},
		{
			name: "unknown keys at every level",
			yaml: yamlLines(
				"servr:",
				`  listen: ":8080"`,
				"upstreams:",
				"  - name: orders",
				"    retrys: 3",
				"    targets:",
				`      - url: "http://127.0.0.1:9001"`,
				"        wieght: 10",
				"    health_check:",
				"      active: {path: /h, colour: red}",
				"routes:",
				"  - name: orders",
				"    upstream: orders",
				"    match: {paths: [/], verbs: [GET]}",
			),
			want: []string{
				`test.yaml:1: unknown top-level key "servr" (did you mean "server"?)`,
				`test.yaml:5: unknown key "retrys" in upstream (did you mean "retries"?)`,
				`test.yaml:8: unknown key "wieght" in target (did you mean "weight"?)`,
				`test.yaml:10: unknown key "colour" in active health check`,
				`test.yaml:14: unknown key "verbs" in route match`,
			},
		},
		{
			name: "repeated key",
			yaml: yamlLines(
				"server:",
				`  listen: ":8080"`,
				`  listen: ":9090"`,
			),
			want: []string{`test.yaml:3: key "listen" is repeated (first on line 2)`},
		},
		{
			name: "wrong types",
			yaml: yamlLines(
				"server:",
				"  h2c: yes",
				"  listen: {host: x}",
				"upstreams:",
				"  - name: orders",
				`    retries: "x"`,
				"    max_connections: 1.5",
				"    retry_on_status: 502",
				"    targets:",
				`      - url: "http://a:1"`,
				"        weight: [1]",
			),
			want: []string{
				`test.yaml:2: server.h2c: expected true or false, got "yes"`,
				`test.yaml:3: server.listen: expected a string, got a mapping`,
				`test.yaml:6: upstreams[0].retries: expected a whole number, got "x"`,
				`test.yaml:7: upstreams[0].max_connections: expected a whole number, got "1.5"`,
				`test.yaml:8: upstreams[0].retry_on_status: expected a list, got "502"`,
				`test.yaml:11: upstreams[0].targets[0].weight: expected a whole number, got a list`,
			},
		},
		{
			name: "durations and sizes",
			yaml: yamlLines(
				"server:",
				"  read_header_timeout: 5",
				`  idle_timeout: "5"`,
				"  shutdown_timeout: 5 s",
				"  max_header_bytes: 1.5MiB",
				"  max_url_bytes: -1",
				"upstreams:",
				"  - name: a",
				`    targets: [{url: "http://a"}]`,
				"    timeouts: {connect: 1.5, read: true}",
				"    retry_buffer: [1]",
			),
			want: []string{
				"test.yaml:2: server.read_header_timeout: durations need a unit, like 2s (got 5)",
				"test.yaml:3: server.idle_timeout: durations need a unit, like 2s (got 5)",
				`test.yaml:4: server.shutdown_timeout: "5 s" is not a duration; write a Go duration like 250ms, 2s or 1m`,
				`test.yaml:5: server.max_header_bytes: "1.5MiB" is not a size; write bytes or a size like 512B, 64KiB or 1MiB`,
				`test.yaml:6: server.max_url_bytes: "-1" is not a size; write bytes or a size like 512B, 64KiB or 1MiB`,
				"test.yaml:10: upstreams[0].timeouts.connect: durations need a unit, like 2s (got 1.5)",
				`test.yaml:10: upstreams[0].timeouts.read: expected a duration like 2s, got "true"`,
				"test.yaml:11: upstreams[0].retry_buffer: expected a size like 64KiB, got a list",
			},
		},
		{
			name: "environment variables",
			env:  map[string]string{"SET_VAR": "from-env", "EMPTY_VAR": "", "RETRIES": "5", "WEIGHT": "abc"},
			yaml: yamlLines(
				"consumers:",
				"  - name: alice",
				"    credentials:",
				`      - {type: key-auth, key: "${MISSING_KEY}"}`,
				`      - {type: basic-auth, username: "${SET_VAR}", password: "${EMPTY_VAR:-fallback}"}`,
				`      - {type: key-auth, key: "${BAD NAME}"}`,
				`      - {type: key-auth, key: "abc${OPEN"}`,
				"upstreams:",
				"  - name: a",
				"    retries: ${RETRIES}",
				`    targets: [{url: "http://a", weight: "${WEIGHT}"}]`,
			),
			want: []string{
				"test.yaml:4: consumers[0].credentials[0].key: environment variable MISSING_KEY is not set; set it or write ${MISSING_KEY:-default}",
				`test.yaml:6: consumers[0].credentials[2].key: bad variable reference "${BAD NAME}"; write ${NAME} or ${NAME:-default}`,
				`test.yaml:7: consumers[0].credentials[3].key: unclosed "${" in "${OPEN"; write ${NAME}, or $${ for a literal "${"`,
				`test.yaml:11: upstreams[0].targets[0].weight: expected a whole number, got "abc"`,
			},
		},
		{
			name: "alias that contains itself",
			yaml: yamlLines(
				"plugins:",
				"  cors: &c {origins: [*c]}",
			),
			want: []string{"test.yaml:2: plugins.cors.origins[0]: alias *c refers to a value that contains it"},
		},
		{
			name: "upstreams",
			yaml: yamlLines(
				"upstreams:",
				"  - name: orders",
				"    targets:",
				`      - url: "ftp://10.0.0.1:21"`,
				`      - url: "http://10.0.0.1:9001/api"`,
				`      - {url: "http://10.0.0.1:9002?x=1", weight: 2000}`,
				`      - url: "http://10.0.0.1:9003"`,
				`      - url: "http://10.0.0.1:9003"`,
				"    balancer: hash",
				"    timeouts: {connect: 5s, total: 2s, read: 0s}",
				"    retries: 11",
				"    retry_on_status: [503, 200]",
				"    max_connections: -1",
				"    health_check:",
				"      active: {path: healthz, interval: 1s, timeout: 2s, healthy: 0}",
				"      passive: {cooldown: 0s}",
				"  - name: orders",
				"    targets: []",
				"    hash_on: ip",
				`  - name: "bad name"`,
				`    targets: [{url: "http://user:pw@h:1"}]`,
				"    balancer: random",
			),
			want: []string{
				`test.yaml:4: upstreams[0].targets[0].url: "ftp://10.0.0.1:21" must start with http:// or https://`,
				`test.yaml:5: upstreams[0].targets[1].url: "http://10.0.0.1:9001/api" must not have a path (/api): a target is scheme://host:port only; to change the forwarded path use strip_path or request-transform on the route`,
				`test.yaml:6: upstreams[0].targets[2].url: "http://10.0.0.1:9002?x=1" must not have a query: a target is scheme://host:port only`,
				`test.yaml:6: upstreams[0].targets[2].weight: must be between 0 and 1000, got 2000`,
				`test.yaml:8: upstreams[0].targets[4].url: target "http://10.0.0.1:9003" is listed twice (first on line 7); use weight to give it more traffic`,
				`test.yaml:9: upstreams[0].balancer: balancer hash needs hash_on: header:NAME, ip, consumer or path`,
				`test.yaml:10: upstreams[0].timeouts.read: must be greater than 0, got 0s`,
				`test.yaml:10: upstreams[0].timeouts.total: 2s is shorter than connect (5s); total bounds the whole request including retries`,
				`test.yaml:11: upstreams[0].retries: must be between 0 and 10, got 11`,
				`test.yaml:12: upstreams[0].retry_on_status[1]: must be between 400 and 599, got 200`,
				`test.yaml:13: upstreams[0].max_connections: must be 0 (unlimited) or more, got -1`,
				`test.yaml:15: upstreams[0].health_check.active.path: "healthz" must start with /`,
				`test.yaml:15: upstreams[0].health_check.active.timeout: 2s is longer than interval (1s); a probe must end before the next one starts`,
				`test.yaml:15: upstreams[0].health_check.active.healthy: must be at least 1, got 0`,
				`test.yaml:16: upstreams[0].health_check.passive.cooldown: must be greater than 0, got 0s`,
				`test.yaml:17: upstreams[1].name: upstream "orders" is already defined on line 2`,
				`test.yaml:18: upstreams[1].targets: an upstream needs at least one target`,
				`test.yaml:19: upstreams[1].hash_on: only used with balancer: hash (this upstream uses round_robin)`,
				`test.yaml:20: upstreams[2].name: upstream name "bad name" may only contain letters, digits, ".", "_" and "-"`,
				`test.yaml:21: upstreams[2].targets[0].url: "http://user:xxxxx@h:1" must not contain a user or password; send credentials in headers instead`,
				`test.yaml:22: upstreams[2].balancer: "random" is not a valid balancer; use round_robin, least_conn, hash or latency`,
			},
		},
		{
			name: "routes and plugins",
			yaml: yamlLines(
				"upstreams:",
				"  - name: orders",
				`    targets: [{url: "http://127.0.0.1:9001"}]`,
				"routes:",
				"  - name: a",
				"    upstream: orders",
				"    ai: {}",
				"  - name: b",
				"    match:",
				`      hosts: ["*.a.*.com", "api.example.com:8080", "*"]`,
				`      paths: ["orders", "=orders", "~[", "/ok"]`,
				`      methods: [get, "GE T"]`,
				`      headers: {"X Bad": "1"}`,
				"  - name: c",
				"    upstream: ordrs",
				"    plugins:",
				"      rate-limiting: {}",
				"      ai-budget: {}",
				"  - name: c",
				"    ai: {models: [gpt-5]}",
				"plugins:",
				"  frobnicate: {}",
			),
			want: []string{
				`test.yaml:5: routes[0]: set either upstream or ai, not both`,
				`test.yaml:8: routes[1]: set upstream: NAME to proxy to an upstream, or ai: {} to serve the AI gateway`,
				`test.yaml:10: routes[1].match.hosts[0]: "*.a.*.com": "*" is only allowed as the whole leftmost label, like *.example.com`,
				`test.yaml:10: routes[1].match.hosts[1]: "api.example.com:8080" must not include a port; hosts match the name only`,
				`test.yaml:10: routes[1].match.hosts[2]: "*" alone would match every host; leave hosts out instead`,
				`test.yaml:11: routes[1].match.paths[0]: "orders" must start with / (a prefix), =/ (an exact path) or ~ (a regular expression)`,
				`test.yaml:11: routes[1].match.paths[1]: "=orders": "=" must be followed by an exact path starting with /, like =/health`,
				`test.yaml:11: routes[1].match.paths[2]: regular expression "~[" does not compile: missing closing ]: "["`,
				`test.yaml:12: routes[1].match.methods[0]: "get" must be upper-case, like GET`,
				`test.yaml:12: routes[1].match.methods[1]: "GE T" is not an HTTP method`,
				`test.yaml:13: routes[1].match.headers["X Bad"]: "X Bad" is not a valid header name`,
				`test.yaml:15: routes[2].upstream: upstream "ordrs" is not defined (did you mean "orders"?)`,
				`test.yaml:17: routes[2].plugins.rate-limiting: unknown plugin "rate-limiting" (did you mean "rate-limit"?)`,
				`test.yaml:18: routes[2].plugins.ai-budget: plugin ai-budget only works on ai routes`,
				`test.yaml:19: routes[3].name: route "c" is already defined on line 14`,
				`test.yaml:20: routes[3].ai.models[0]: model "gpt-5" is not defined`,
				`test.yaml:22: plugins.frobnicate: unknown plugin "frobnicate"; plugins are key-auth, jwt, basic-auth, acl, ip-restriction, cors, rate-limit, request-size-limit, request-transform, response-transform, request-termination, ai-rate-limit, ai-budget or ai-prompt-guard`,
			},
		},
		{
			name: "consumers and credentials",
			yaml: yamlLines(
				"consumers:",
				"  - name: alice",
				`    groups: [gold, "not ok"]`,
				"    credentials:",
				"      - {type: key-auth, key: k1, username: alice}",
				"      - {type: jwt, issuer: app, algorithm: HS256, public_key: pk}",
				"      - {type: basic-auth, username: alice}",
				"      - {type: oauth}",
				"      - {type: jwt, issuer: app2, algorithm: none, secret: s}",
				"  - name: bob",
				"    credentials:",
				"      - {type: key-auth, key: k1}",
				"      - {type: jwt, issuer: app, algorithm: RS256}",
			),
			want: []string{
				`test.yaml:3: consumers[0].groups[1]: group "not ok" may only contain letters, digits, ".", "_" and "-"`,
				`test.yaml:5: consumers[0].credentials[0].username: not used by key-auth credentials`,
				`test.yaml:6: consumers[0].credentials[1].secret: required by jwt credentials`,
				`test.yaml:6: consumers[0].credentials[1].public_key: not used with algorithm HS256, which verifies with secret`,
				`test.yaml:7: consumers[0].credentials[2].password: required by basic-auth credentials`,
				`test.yaml:8: consumers[0].credentials[3].type: "oauth" is not a valid credential type; use key-auth, jwt or basic-auth`,
				`test.yaml:9: consumers[0].credentials[4].algorithm: "none" is not a valid jwt algorithm; use HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512 or EdDSA`,
				`test.yaml:12: consumers[1].credentials[0].key: this key-auth key is already used by consumer "alice"`,
				`test.yaml:13: consumers[1].credentials[1].issuer: issuer "app" is already used by consumer "alice"`,
				`test.yaml:13: consumers[1].credentials[1].public_key: required by jwt credentials`,
			},
		},
		{
			name: "names",
			yaml: yamlLines(
				"upstreams:",
				`  - targets: [{url: "http://a"}]`,
				"routes:",
				"  - name: r",
				"    ai:",
				"consumers:",
				`  - name: "al ice"`,
				"ai:",
				"  providers: [{name: p, type: ollama}]",
				"  models:",
				`    - {name: "llama3.1:8b", targets: [{provider: p, model: llama3.1}]}`,
				`    - {name: "gpt 4", targets: [{provider: p, model: llama3.1}]}`,
			),
			want: []string{
				`test.yaml:2: upstreams[0].name: every upstream needs a name`,
				`test.yaml:4: routes[0]: set upstream: NAME to proxy to an upstream, or ai: {} to serve the AI gateway`,
				`test.yaml:7: consumers[0].name: consumer name "al ice" may only contain letters, digits, ".", "_" and "-"`,
				`test.yaml:12: ai.models[1].name: model name "gpt 4" may only contain letters, digits, ".", "_", "-", ":" and "/"`,
			},
		},
		{
			name: "server storage and log",
			yaml: yamlLines(
				"server:",
				`  listen: ":8080"`,
				`  admin_listen: "0.0.0.0:8080"`,
				`  trusted_proxies: ["10.0.0.300", "10.0.0.0/8"]`,
				"  tls: {cert_file: c.pem}",
				"  read_header_timeout: 0s",
				"  max_header_bytes: 0",
				"storage: {driver: postgres}",
				`redis: {url: "http://cache:6379"}`,
				`log: {level: verbose, access: ""}`,
			),
			want: []string{
				`test.yaml:3: server.admin_listen: "0.0.0.0:8080" overlaps listen ":8080"; the admin API needs its own port`,
				`test.yaml:4: server.trusted_proxies[0]: "10.0.0.300" is not an IP address or CIDR range like 10.0.0.0/8`,
				`test.yaml:5: server.tls.key_file: required when tls is set`,
				`test.yaml:6: server.read_header_timeout: must be greater than 0, got 0s`,
				`test.yaml:7: server.max_header_bytes: must be greater than 0, got 0B`,
				`test.yaml:8: storage.dsn: postgres needs a dsn like postgres://user:password@host:5432/sluice`,
				`test.yaml:9: redis.url: must be a URL like redis://host:6379/0 or rediss://host:6380/0`,
				`test.yaml:10: log.level: "verbose" is not a valid log level; use debug, info, warn or error`,
				`test.yaml:10: log.access: must be stdout, stderr, off or a file path`,
			},
		},
		{
			name: "bad listen address",
			yaml: yamlLines(
				"server:",
				`  listen: "8080"`,
				`  admin_listen: "localhost:99999"`,
			),
			want: []string{
				`test.yaml:2: server.listen: "8080" is not a host:port address like ":8080" or "127.0.0.1:8080"`,
				`test.yaml:3: server.admin_listen: port "99999" is not a number from 0 to 65535`,
			},
		},
		{
			name: "ai",
			yaml: yamlLines(
				"ai:",
				"  providers:",
				`    - {name: oa, type: openai, base_url: "http://127.0.0.1:8000", api_keys: [""], region: us-east-1, tls: {insecure_skip_verify: true}}`,
				"    - {name: az, type: azure}",
				"    - {name: br, type: bedrock}",
				"    - {name: x, type: claude}",
				"  models:",
				"    - name: fast",
				"      targets: [{provider: oai, model: gpt-4o-mini, weight: -1}]",
				"      fallbacks: [fast, slow, slow, none]",
				"    - name: slow",
				"      targets: []",
				`    - name: "llama3.1:8b"`,
				"      targets: [{provider: oa}]",
				"  prices:",
				`    "oa/gpt-4o": {input: -1}`,
				`    "gpt-4o": {input: 1}`,
				`    "nobody/m": {output: 1}`,
			),
			want: []string{
				`test.yaml:3: ai.providers[0].region: only used by bedrock providers`,
				`test.yaml:3: ai.providers[0].api_keys[0]: an API key must not be empty`,
				`test.yaml:3: ai.providers[0].tls: only used with an https base_url; got "http://127.0.0.1:8000"`,
				`test.yaml:4: ai.providers[1].base_url: required by azure providers`,
				`test.yaml:5: ai.providers[2].region: required by bedrock providers, like us-east-1`,
				`test.yaml:6: ai.providers[3].type: "claude" is not a valid provider type; use openai, azure, anthropic, gemini, mistral, ollama, openai-compatible or bedrock`,
				`test.yaml:9: ai.models[0].targets[0].provider: provider "oai" is not defined (did you mean "oa"?)`,
				`test.yaml:9: ai.models[0].targets[0].weight: must be between 0 and 1000, got -1`,
				`test.yaml:10: ai.models[0].fallbacks[0]: model "fast" cannot fall back to itself`,
				`test.yaml:10: ai.models[0].fallbacks[2]: model "slow" is listed twice`,
				`test.yaml:10: ai.models[0].fallbacks[3]: model "none" is not defined`,
				`test.yaml:12: ai.models[1].targets: a model needs at least one target`,
				`test.yaml:14: ai.models[2].targets[0].model: a model target needs the provider's model name`,
				`test.yaml:16: ai.prices["oa/gpt-4o"].input: must be 0 or more (USD per million tokens), got -1`,
				`test.yaml:17: ai.prices.gpt-4o: price keys are provider/model, like anthropic/claude-sonnet-4-5; got "gpt-4o"`,
				`test.yaml:18: ai.prices["nobody/m"]: provider "nobody" is not defined`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Parse("test.yaml", tt.yaml)
			if err == nil {
				t.Fatalf("Parse succeeded, want %d problems", len(tt.want))
			}
			if c != nil {
				t.Errorf("Parse returned a config along with problems")
			}
			var problems Problems
			if !errors.As(err, &problems) {
				t.Fatalf("error is %T, want Problems", err)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, p := range problems {
				if p.File != "test.yaml" || p.Line <= 0 {
					t.Errorf("problem %+v: want file test.yaml and a line", p)
				}
			}
		})
	}
}

func TestRequestLogSettings(t *testing.T) {
	c, err := Parse("rl.yaml", []byte("log:\n  request_log: { enabled: false, max_rows: 10 }\n"))
	if err != nil {
		t.Fatal(err)
	}
	rl := c.Log.RequestLog
	if rl.Enabled || rl.MaxRows != 10 || rl.MaxAge.D().Hours() != 168 {
		t.Errorf("request_log = %+v (max_age keeps its default)", rl)
	}
	_, err = Parse("rl.yaml", []byte("log:\n  request_log: { max_rows: -1, bogus: 1 }\n"))
	want := "rl.yaml:2: unknown key \"bogus\" in log.request_log\nrl.yaml:2: log.request_log.max_rows: must not be negative"
	if err == nil || err.Error() != want {
		t.Errorf("problems:\n%v\nwant:\n%s", err, want)
	}
}
