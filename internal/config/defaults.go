package config

import "time"

// Default returns the built-in configuration: what `sluice serve` runs with
// when there is no config file. It has listeners and limits but no
// upstreams, routes, consumers, plugins or AI models. Each call returns a new
// Config that the caller owns.
func Default() *Config {
	c := &Config{}
	c.setDefaults()
	return c
}

// defaulter is implemented by every config type whose zero value is not its
// default. The decoder calls setDefaults on each value it creates (the
// top-level Config, every list element, every pointer it allocates) before
// decoding the file's keys into it, so a key that is absent keeps its
// default and a key that is present — even as 0 or [] — replaces it.
type defaulter interface {
	setDefaults()
}

var (
	_ defaulter = (*Config)(nil)
	_ defaulter = (*Upstream)(nil)
	_ defaulter = (*Target)(nil)
	_ defaulter = (*ActiveCheck)(nil)
	_ defaulter = (*PassiveCheck)(nil)
	_ defaulter = (*ModelTarget)(nil)
)

func (c *Config) setDefaults() {
	c.Server = Server{
		Listen:            ":8080",
		AdminListen:       "127.0.0.1:8081",
		ReadHeaderTimeout: Duration(10 * time.Second),
		IdleTimeout:       Duration(75 * time.Second),
		ShutdownTimeout:   Duration(30 * time.Second),
		MaxHeaderBytes:    32 * KiB,
		MaxURLBytes:       8 * KiB,
	}
	c.Storage = Storage{Driver: "sqlite"}
	c.AI = AI{Timeout: Duration(60 * time.Second), StreamIdleTimeout: Duration(120 * time.Second), Retries: 2,
		Keepalive: Duration(15 * time.Second), MaxBodySize: 20 * MiB}
	c.Log = Log{Level: "info", Access: "stdout",
		RequestLog: RequestLog{Enabled: true, MaxAge: Duration(7 * 24 * time.Hour), MaxRows: 1_000_000, SuccessPerSecond: 1000}}
	c.Telemetry = defaultTelemetry()
}

func (u *Upstream) setDefaults() {
	u.Balancer = "round_robin"
	u.Timeouts = Timeouts{
		Connect: Duration(5 * time.Second),
		Read:    Duration(60 * time.Second),
		Write:   Duration(60 * time.Second),
		Total:   Duration(90 * time.Second),
	}
	u.Retries = 2
	u.RetryOnStatus = []int{502, 503, 504}
	u.RetryBuffer = 64 * KiB
	u.KeepAlive = KeepAlive{MaxIdle: 64, IdleTimeout: Duration(60 * time.Second)}
}

func (t *Target) setDefaults() { t.Weight = 100 }

func (a *ActiveCheck) setDefaults() {
	a.Path = "/"
	a.Interval = Duration(5 * time.Second)
	a.Timeout = Duration(time.Second)
	a.Healthy = 2
	a.Unhealthy = 3
}

func (p *PassiveCheck) setDefaults() {
	p.Unhealthy = 5
	p.Cooldown = Duration(30 * time.Second)
}

func (t *ModelTarget) setDefaults() { t.Weight = 1 }
