package store

import (
	"context"
	"time"
)

// RequestLogEntry is the summary of one request kept in the request log.
type RequestLogEntry struct {
	// ID is assigned by the store on insert (ignored there) and orders
	// entries of equal Time.
	ID        int64
	Time      time.Time
	RequestID string
	NodeID    string
	Route     string
	Upstream  string
	Consumer  string
	Method    string
	Host      string
	Path      string
	// Status is the status sent to the client.
	Status int
	// Code is the gateway's error code, "" when the upstream answered.
	Code string
	// Error is the private cause of Code; never shown to clients.
	Error    string
	Attempts []Attempt
	BytesIn  int64
	BytesOut int64
	// Duration is the whole request as the gateway saw it.
	Duration time.Duration
	// UpstreamDuration is from the first pick to the response head.
	UpstreamDuration time.Duration
}

// Attempt is one try at an upstream target, stored as JSON.
type Attempt struct {
	Target string `json:"target"`
	// Status is the upstream's status, 0 when no response head arrived.
	Status int `json:"status"`
	// Code is the failure class, "" when the attempt got a response.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// DurationMS is from pick to response head (or failure), milliseconds.
	DurationMS float64 `json:"duration_ms"`
	// Reused says the attempt went over a kept-alive connection.
	Reused bool `json:"reused"`
	// Health is the target's health state when the attempt failed.
	Health string `json:"health,omitempty"`
}

// LogFilter selects request log entries. Zero fields do not filter.
type LogFilter struct {
	RequestID string
	Code      string
	Status    int
	Route     string
	Consumer  string
	// Since and Until bound Time: Since <= Time < Until.
	Since time.Time
	Until time.Time
	// Limit is the most entries returned: 0 means DefaultLogLimit, and it
	// is capped at MaxLogLimit.
	Limit int
}

// Request log query limits.
const (
	DefaultLogLimit = 100
	MaxLogLimit     = 10000
)

// RequestLog is the request log.
type RequestLog interface {
	// InsertRequestLogs stores entries as one batch (one multi-row insert
	// or COPY): all of them or, on error, none. Times are kept to the
	// microsecond.
	InsertRequestLogs(ctx context.Context, entries []RequestLogEntry) error
	// QueryRequestLogs returns the entries matching f, newest first.
	QueryRequestLogs(ctx context.Context, f LogFilter) ([]RequestLogEntry, error)
	// PruneRequestLogs deletes entries older than olderThan (zero: no age
	// limit) and then all but the newest maxRows (0: no row limit), in
	// bounded batches so a large prune does not hold the write lock for
	// long, and returns how many it deleted.
	PruneRequestLogs(ctx context.Context, olderThan time.Time, maxRows int) (int64, error)
}

// UsageEntry is one AI request's token usage and cost.
type UsageEntry struct {
	Time      time.Time
	RequestID string
	Consumer  string
	// Model is the model name the client asked for.
	Model string
	// Provider and ProviderModel served it.
	Provider      string
	ProviderModel string
	InputTokens   int64 // including cached input
	OutputTokens  int64 // including reasoning
	// CostUSD is the request's cost in US dollars.
	CostUSD float64

	Route           string
	CachedTokens    int64
	ReasoningTokens int64
	// Attempts is how many provider calls the request took.
	Attempts int
	// FirstToken is the time from the request's start to the first token.
	FirstToken time.Duration
	Duration   time.Duration
	Stream     bool
	// Partial marks a stream that ended early; its usage is what was seen.
	Partial bool
	// Code is the gateway's error code for a partial answer, else "".
	Code string
}

// UsageGroup is a dimension usage can be aggregated by.
type UsageGroup string

// The usage dimensions.
const (
	ByConsumer UsageGroup = "consumer"
	ByModel    UsageGroup = "model"
	// ByProvider groups by the provider (config name) that served.
	ByProvider UsageGroup = "provider"
	// ByDay groups by UTC calendar day (YYYY-MM-DD).
	ByDay UsageGroup = "day"
)

// UsageFilter selects and groups usage. Zero fields do not filter.
type UsageFilter struct {
	Consumer string
	Model    string
	Provider string
	// Since and Until bound Time: Since <= Time < Until.
	Since time.Time
	Until time.Time
	// GroupBy lists the dimensions to aggregate by; none gives one total.
	GroupBy []UsageGroup
}

// UsageRow is usage summed over one group. Dimensions not grouped by are "".
type UsageRow struct {
	Consumer        string
	Model           string
	Provider        string
	Day             string
	Requests        int64
	InputTokens     int64
	OutputTokens    int64
	CachedTokens    int64
	ReasoningTokens int64
	CostUSD         float64
}

// UsageLog records AI usage.
type UsageLog interface {
	// InsertUsage stores entries as one batch.
	InsertUsage(ctx context.Context, entries []UsageEntry) error
	// QueryUsage sums the usage matching f by f.GroupBy, ordered by day,
	// consumer and model. With no GroupBy it returns exactly one row.
	QueryUsage(ctx context.Context, f UsageFilter) ([]UsageRow, error)
}

// Node is one running sluice process sharing the database.
type Node struct {
	ID       string
	Hostname string
	Version  string
	Started  time.Time
	// LastSeen is set by RegisterNode to the time of the call.
	LastSeen time.Time
}

// Nodes is the heartbeat table of running nodes.
type Nodes interface {
	// RegisterNode records n (its LastSeen set to now), replacing an earlier
	// record of the same ID. Nodes call it at start and then periodically.
	RegisterNode(ctx context.Context, n Node) error
	// ListNodes returns every node ever registered, ordered by ID; callers
	// judge liveness by LastSeen.
	ListNodes(ctx context.Context) ([]Node, error)
}
