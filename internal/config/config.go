// Package config decodes and validates sluice's YAML configuration file
// (CONTRACT §2).
//
// Parse turns a file into a *Config in four steps: the YAML is parsed into a
// node tree (so every value keeps its line), ${ENV_VAR} references in string
// values are expanded, the nodes are decoded strictly into Config on top of
// the built-in defaults, and the result is validated as a whole. Every
// problem found on the way — YAML syntax, unknown keys, wrong types, unset
// variables, invalid values, dangling references — is reported at once as
// Problems, each with its line, so `sluice config validate` can list them all.
//
// Environment references are expanded in string values, not in keys:
// ${NAME} is the variable's value and an unset variable is a problem;
// ${NAME:-default} falls back to default when NAME is unset or empty; $${
// is a literal "${". A value produced by expansion is typed by what it
// expands to (retries: ${RETRIES} is a number). Inside flow collections
// ({...} and [...]) a reference must be quoted, since YAML reads "{" and "}"
// there as syntax.
//
// A Config is plain data: it holds no open resources and nothing in it is
// compiled. Later build steps (router, upstream pools, plugins, AI model
// table) read it and may call Line to point their own errors at the file.
// A Config returned by Parse must be treated as read-only; use Clone to get
// a copy that may be changed.
package config

import (
	"fmt"
	"os"
	"sort"
)

// Config is the whole gateway configuration: one YAML file.
type Config struct {
	Server    Server     `yaml:"server" json:"server"`
	Storage   Storage    `yaml:"storage" json:"storage"`
	Redis     Redis      `yaml:"redis" json:"redis"`
	Log       Log        `yaml:"log" json:"log"`
	Upstreams []Upstream `yaml:"upstreams" json:"upstreams"`
	Routes    []Route    `yaml:"routes" json:"routes"`
	Consumers []Consumer `yaml:"consumers" json:"consumers"`

	// Plugins are the global plugins, applied to every route: plugin name →
	// its raw configuration, which the plugin's own factory validates. A
	// plugin listed with no configuration (`cors:`) has an empty, non-nil map.
	Plugins map[string]map[string]any `yaml:"plugins" json:"plugins"`

	AI AI `yaml:"ai" json:"ai"`

	Telemetry Telemetry `yaml:"telemetry" json:"telemetry"`

	// file is the name given to Parse; it prefixes every Problem.
	file string
	// lines maps a field path (see Line) to the line it was written on.
	lines map[string]int
}

// Server configures the proxy and admin listeners.
type Server struct {
	// Listen is the proxy listener, host:port. Default ":8080".
	Listen string `yaml:"listen" json:"listen"`
	// AdminListen is the admin API and console listener, host:port.
	// Default "127.0.0.1:8081" (loopback only).
	AdminListen string `yaml:"admin_listen" json:"admin_listen"`
	// TrustedProxies are the peers whose X-Forwarded-For is believed. Parse
	// normalises every entry to a masked CIDR prefix: "10.0.0.1" becomes
	// "10.0.0.1/32", "10.1.2.3/8" becomes "10.0.0.0/8". Default none.
	TrustedProxies []string `yaml:"trusted_proxies" json:"trusted_proxies"`
	// TLS, when set, makes the proxy listener serve HTTPS. Nil means plain HTTP.
	TLS *ServerTLS `yaml:"tls" json:"tls"`
	// H2C enables cleartext HTTP/2 on a plain listener. Default false.
	H2C bool `yaml:"h2c" json:"h2c"`
	// ReadHeaderTimeout bounds reading a client's request head. Default 10s.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout" json:"read_header_timeout"`
	// IdleTimeout bounds how long an idle client keep-alive connection is
	// kept open. Default 75s.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
	// ShutdownTimeout bounds draining in-flight requests on SIGTERM. Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout" json:"shutdown_timeout"`
	// MaxHeaderBytes bounds the size of a request head. Default 32KiB.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes" json:"max_header_bytes"`
	// MaxURLBytes bounds the length of a request target. Default 8KiB.
	MaxURLBytes ByteSize `yaml:"max_url_bytes" json:"max_url_bytes"`
}

// ServerTLS names the certificate and key files of the proxy listener. Both
// are required; Parse does not check that the files exist.
type ServerTLS struct {
	CertFile string `yaml:"cert_file" json:"cert_file"`
	KeyFile  string `yaml:"key_file" json:"key_file"`
}

// Storage selects the database that holds admin-managed state.
type Storage struct {
	// Driver is "sqlite" (default) or "postgres".
	Driver string `yaml:"driver" json:"driver"`
	// DSN is the database address. For sqlite, empty means DATA_DIR/sluice.db;
	// postgres requires one.
	DSN string `yaml:"dsn" json:"dsn"`
}

// Redis optionally enables cluster-wide rate limits and quotas.
type Redis struct {
	// URL is a redis:// or rediss:// address; empty means no Redis.
	URL string `yaml:"url" json:"url"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level" json:"level"`
	// Access is where access logs go: "stdout" (default), "stderr", "off",
	// or a file path.
	Access string `yaml:"access" json:"access"`
	// RequestLog is the request log kept in the store (queried through
	// the admin API).
	RequestLog RequestLog `yaml:"request_log" json:"request_log"`
}

// RequestLog configures the store-backed request log.
type RequestLog struct {
	// Enabled records every request's summary. Default true.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// MaxAge prunes entries older than this; 0 keeps them. Default 168h.
	MaxAge Duration `yaml:"max_age" json:"max_age"`
	// MaxRows keeps at most this many newest entries; 0 means no limit.
	// Default 1000000.
	MaxRows int `yaml:"max_rows" json:"max_rows"`
	// SuccessPerSecond caps how many successful requests (no gateway error
	// code, status below 400) are recorded per second; the rest are
	// counted as sampled out. Failures are always recorded (while the
	// writer keeps up). 0 means no cap. Default 1000.
	SuccessPerSecond int `yaml:"success_per_second" json:"success_per_second"`
}

// Upstream is a named group of targets that routes forward to.
type Upstream struct {
	Name    string   `yaml:"name" json:"name"`
	Targets []Target `yaml:"targets" json:"targets"`
	// Balancer is round_robin (default), least_conn, hash or latency.
	Balancer string `yaml:"balancer" json:"balancer"`
	// HashOn is what the hash balancer hashes: "header:NAME", "ip",
	// "consumer" or "path". Required with balancer hash, invalid otherwise.
	HashOn   string   `yaml:"hash_on" json:"hash_on"`
	Timeouts Timeouts `yaml:"timeouts" json:"timeouts"`
	// Retries is the number of extra attempts after the first, 0..10.
	// Default 2 when the key is absent; an explicit 0 disables retries.
	Retries int `yaml:"retries" json:"retries"`
	// RetryOnStatus lists upstream statuses (400..599) that may be retried
	// for idempotent requests. Default [502, 503, 504]; an explicit empty
	// list retries on no status.
	RetryOnStatus []int `yaml:"retry_on_status" json:"retry_on_status"`
	// MaxConnections caps concurrent connections per target; 0 = unlimited.
	MaxConnections int `yaml:"max_connections" json:"max_connections"`
	// RetryBuffer is how many request body bytes are kept to replay the
	// body on a retry; a request whose body is larger is not retried once
	// its body started to flow. Default 64KiB.
	RetryBuffer ByteSize     `yaml:"retry_buffer" json:"retry_buffer"`
	KeepAlive   KeepAlive    `yaml:"keep_alive" json:"keep_alive"`
	TLS         *UpstreamTLS `yaml:"tls" json:"tls"`
	HealthCheck HealthCheck  `yaml:"health_check" json:"health_check"`
}

// Target is one backend address of an upstream.
type Target struct {
	// URL is scheme://host[:port] with scheme http or https and no path,
	// query or credentials. The port defaults from the scheme.
	URL string `yaml:"url" json:"url"`
	// Weight is the share of traffic, 0..1000. Default 100 when absent;
	// 0 means the target takes no traffic.
	Weight int `yaml:"weight" json:"weight"`
}

// Timeouts bound the exchanges with an upstream. All are > 0.
type Timeouts struct {
	// Connect bounds one TCP (and TLS) connect. Default 5s.
	Connect Duration `yaml:"connect" json:"connect"`
	// Read bounds the wait for a response head, and each read of the body.
	// Default 60s.
	Read Duration `yaml:"read" json:"read"`
	// Write bounds each write of the request to the upstream. Default 60s.
	Write Duration `yaml:"write" json:"write"`
	// Total bounds the whole request including every retry; it must be at
	// least Connect. Default 90s.
	Total Duration `yaml:"total" json:"total"`
}

// KeepAlive tunes the idle connection pool kept per target.
type KeepAlive struct {
	// MaxIdle is the number of idle connections kept per target, >= 0.
	// Default 64.
	MaxIdle int `yaml:"max_idle" json:"max_idle"`
	// IdleTimeout closes connections idle longer than this; 0 = never.
	// Default 60s.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// UpstreamTLS configures TLS towards https targets.
type UpstreamTLS struct {
	InsecureSkipVerify bool `yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
	// CAFile is a PEM bundle of roots to trust instead of the system's.
	CAFile string `yaml:"ca_file" json:"ca_file"`
	// ServerName overrides the SNI and verified name; empty = target host.
	ServerName string `yaml:"server_name" json:"server_name"`
}

// HealthCheck configures target health. A nil check is off.
type HealthCheck struct {
	Active  *ActiveCheck  `yaml:"active" json:"active"`
	Passive *PassiveCheck `yaml:"passive" json:"passive"`
}

// ActiveCheck probes every target periodically with an HTTP GET.
type ActiveCheck struct {
	// Path is the probed path; it starts with "/". Default "/".
	Path string `yaml:"path" json:"path"`
	// Interval is the time between probes. Default 5s.
	Interval Duration `yaml:"interval" json:"interval"`
	// Timeout bounds one probe; at most Interval. Default 1s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// Healthy is the consecutive successes that bring a target back. Default 2.
	Healthy int `yaml:"healthy" json:"healthy"`
	// Unhealthy is the consecutive failures that eject a target. Default 3.
	Unhealthy int `yaml:"unhealthy" json:"unhealthy"`
	// Statuses are the probe statuses counted as healthy; empty means 200..399.
	Statuses []int `yaml:"statuses" json:"statuses"`
}

// PassiveCheck ejects targets that fail real traffic.
type PassiveCheck struct {
	// Unhealthy is the consecutive failures that eject a target. Default 5.
	Unhealthy int `yaml:"unhealthy" json:"unhealthy"`
	// Cooldown is how long an ejected target rests before it is tried
	// again. Default 30s.
	Cooldown Duration `yaml:"cooldown" json:"cooldown"`
}

// Route maps matching requests to an upstream or to the AI gateway.
type Route struct {
	Name  string     `yaml:"name" json:"name"`
	Match RouteMatch `yaml:"match" json:"match"`
	// StripPath removes the matched path prefix before forwarding.
	StripPath bool `yaml:"strip_path" json:"strip_path"`
	// PreserveHost forwards the client's Host instead of the target's.
	PreserveHost bool `yaml:"preserve_host" json:"preserve_host"`
	// Upstream names the upstream to forward to. Exactly one of Upstream
	// and AI is set.
	Upstream string `yaml:"upstream" json:"upstream"`
	// AI makes the route serve the AI gateway endpoints (CONTRACT §5).
	AI *AIRoute `yaml:"ai" json:"ai"`
	// Plugins are the route's plugins: name → raw configuration.
	Plugins map[string]map[string]any `yaml:"plugins" json:"plugins"`
}

// RouteMatch says which requests a route takes. Every non-empty list must
// match; an empty list matches anything.
type RouteMatch struct {
	// Hosts are host names without port; "*.example.com" matches any
	// single label in place of the star.
	Hosts []string `yaml:"hosts" json:"hosts"`
	// Paths are "/prefix", "=/exact" or "~regexp" (Go syntax).
	Paths []string `yaml:"paths" json:"paths"`
	// Methods are upper-case HTTP methods.
	Methods []string `yaml:"methods" json:"methods"`
	// Headers must be present with exactly these values.
	Headers map[string]string `yaml:"headers" json:"headers"`
}

// AIRoute configures a route served by the AI gateway.
type AIRoute struct {
	// Models optionally restricts the models this route offers; empty
	// means every configured model.
	Models []string `yaml:"models" json:"models"`
}

// Consumer is a client of the gateway with its credentials.
type Consumer struct {
	Name        string       `yaml:"name" json:"name"`
	Groups      []string     `yaml:"groups" json:"groups"`
	Credentials []Credential `yaml:"credentials" json:"credentials"`
	// Plugins are consumer-scoped plugin configs: for a request this
	// consumer makes, they replace the route's or the global config of the
	// same plugin (plugins that run after authentication only).
	Plugins map[string]map[string]any `yaml:"plugins" json:"plugins"`
}

// Credential is one way a consumer authenticates. Which fields are used
// depends on Type: key-auth uses Key; jwt uses Issuer, Algorithm and Secret
// (HS*) or PublicKey (others); basic-auth uses Username and Password.
type Credential struct {
	Type      string `yaml:"type" json:"type"`
	Key       string `yaml:"key" json:"key"`
	Issuer    string `yaml:"issuer" json:"issuer"`
	Algorithm string `yaml:"algorithm" json:"algorithm"`
	Secret    string `yaml:"secret" json:"secret"`
	PublicKey string `yaml:"public_key" json:"public_key"`
	Username  string `yaml:"username" json:"username"`
	Password  string `yaml:"password" json:"password"`
}

// AI configures the AI gateway: providers, the models clients ask for, and
// prices for cost accounting.
type AI struct {
	Providers []Provider `yaml:"providers" json:"providers"`
	Models    []Model    `yaml:"models" json:"models"`
	// Prices are keyed "provider/model", the model being the provider's own
	// model name.
	Prices map[string]Price `yaml:"prices" json:"prices"`

	// Timeout bounds each provider call up to its answer (for a stream,
	// its first event). Default 60s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// StreamIdleTimeout bounds the silence between two events of a
	// provider's stream. Default 120s.
	StreamIdleTimeout Duration `yaml:"stream_idle_timeout" json:"stream_idle_timeout"`
	// Retries is how many more times one target is tried after a transient
	// failure (overloaded, timeout, connection) before the next target or
	// fallback. Default 2.
	Retries int `yaml:"retries" json:"retries"`
	// Keepalive is how often a quiet stream gets a keepalive (an SSE
	// comment, or a ping event for Anthropic clients); 0 disables it.
	// Default 15s.
	Keepalive Duration `yaml:"keepalive" json:"keepalive"`
	// MaxBodySize bounds an AI request body (inline images make them
	// large). Default 20MiB.
	MaxBodySize ByteSize `yaml:"max_body_size" json:"max_body_size"`
}

// Provider is an account with an AI provider.
type Provider struct {
	Name string `yaml:"name" json:"name"`
	// Type is openai, azure, anthropic, gemini, mistral, ollama,
	// openai-compatible or bedrock.
	Type string `yaml:"type" json:"type"`
	// BaseURL overrides the provider's default endpoint; azure and
	// openai-compatible require it.
	BaseURL string `yaml:"base_url" json:"base_url"`
	// APIKeys is a pool of keys used in rotation.
	APIKeys []string `yaml:"api_keys" json:"api_keys"`
	// APIVersion is the azure API version.
	APIVersion string `yaml:"api_version" json:"api_version"`
	// Region is the bedrock AWS region; bedrock requires it.
	Region string `yaml:"region" json:"region"`
	// Headers are sent on every request to the provider.
	Headers map[string]string `yaml:"headers" json:"headers"`
	// TLS configures how an https base_url is verified (a private CA, a
	// server name); nil means the system roots.
	TLS *UpstreamTLS `yaml:"tls" json:"tls"`
}

// Model is a model name clients send, served by weighted provider targets
// and, when those fail, by other models in order.
type Model struct {
	Name      string        `yaml:"name" json:"name"`
	Targets   []ModelTarget `yaml:"targets" json:"targets"`
	Fallbacks []string      `yaml:"fallbacks" json:"fallbacks"`
}

// ModelTarget is one provider model that serves a Model.
type ModelTarget struct {
	Provider string `yaml:"provider" json:"provider"`
	Model    string `yaml:"model" json:"model"`
	// Weight is the share of traffic, 0..1000. Default 1.
	Weight int `yaml:"weight" json:"weight"`
}

// Price is what a provider model costs, in USD per million tokens.
type Price struct {
	Input       float64 `yaml:"input" json:"input"`
	Output      float64 `yaml:"output" json:"output"`
	CachedInput float64 `yaml:"cached_input" json:"cached_input"`
}

// Load reads the file at path and parses it with Parse. A file that cannot
// be read yields the os error (wrapped; errors.Is(err, fs.ErrNotExist)
// works); anything wrong with its content yields Problems.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes data, expands environment variables, applies defaults and
// validates the result. filename is used only in problem reports. If
// anything is wrong it returns a nil Config and a non-empty Problems listing
// every problem, sorted by line. A document that is empty or only comments
// yields Default().
func Parse(filename string, data []byte) (*Config, error) {
	c, problems := decodeFile(filename, data, os.LookupEnv)
	if c != nil {
		bad := make(map[string]bool, len(problems))
		for _, p := range problems {
			bad[p.Path] = true
		}
		// A value that failed to decode was already reported; its default
		// left in place must not be reported a second time.
		for _, p := range c.Validate() {
			if !bad[p.Path] {
				problems = append(problems, p)
			}
		}
	}
	if len(problems) > 0 {
		problems.sort()
		return nil, problems
	}
	c.normalize()
	return c, nil
}

// Line returns the line on which the field at path was written, e.g.
// "upstreams[0].targets[1].url" or "routes[2].plugins.rate-limit.window".
// Path segments are YAML key names joined by dots, list indexes in
// brackets, and map keys that are not plain words quoted in brackets
// (ai.prices["anthropic/claude-sonnet-4-5"]). If the field itself was not
// written (it holds a default), Line returns the line of the nearest
// enclosing element that was. It returns 0 for a config that did not come
// from Parse and for paths outside the file.
func (c *Config) Line(path string) int {
	if c == nil || c.lines == nil {
		return 0
	}
	for {
		if l, ok := c.lines[path]; ok {
			return l
		}
		parent, ok := parentPath(path)
		if !ok {
			return 0
		}
		path = parent
	}
}

// File returns the file name the config was parsed from; "" for a config
// that did not come from Parse.
func (c *Config) File() string { return c.file }

// Problem is one thing wrong with a config file.
type Problem struct {
	// File is the file name given to Parse.
	File string `json:"file"`
	// Line is the 1-based line the problem is on, 0 when it has no line.
	Line int `json:"line"`
	// Path is the field path (see Config.Line), "" for the whole file.
	Path string `json:"path"`
	// Message says what is wrong in words a user understands.
	Message string `json:"message"`
}

// String formats the problem as "FILE:LINE: message", leaving out the
// line when it is 0 and the file when it is empty.
func (p Problem) String() string {
	switch {
	case p.File != "" && p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	case p.File != "":
		return p.File + ": " + p.Message
	case p.Line > 0:
		return fmt.Sprintf("line %d: %s", p.Line, p.Message)
	default:
		return p.Message
	}
}

// Problems is every problem found in a config. It implements error.
type Problems []Problem

// Error returns one "FILE:LINE: message" line per problem, sorted by line.
func (ps Problems) Error() string {
	sorted := append(Problems(nil), ps...)
	sorted.sort()
	var b []byte
	for i, p := range sorted {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, p.String()...)
	}
	return string(b)
}

// sort orders problems by file and line, keeping the order in which
// problems on the same line were found.
func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		return ps[i].Line < ps[j].Line
	})
}
