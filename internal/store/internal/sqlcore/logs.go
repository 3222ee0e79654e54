package sqlcore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

// requestLogColumns are the columns BulkInsert fills, in order.
var requestLogColumns = []string{
	"ts", "request_id", "node_id", "route", "upstream", "consumer", "method", "host", "path",
	"status", "code", "error", "attempts", "bytes_in", "bytes_out", "duration_us", "upstream_duration_us",
}

// InsertRequestLogs stores entries as one batch.
func (db *DB) InsertRequestLogs(ctx context.Context, entries []store.RequestLogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([][]any, len(entries))
	for i := range entries {
		e := &entries[i]
		attempts := []byte("[]")
		if len(e.Attempts) > 0 {
			clean := make([]store.Attempt, len(e.Attempts))
			for j, a := range e.Attempts {
				a.Target, a.Code, a.Error = text(a.Target), text(a.Code), text(a.Error)
				clean[j] = a
			}
			var err error
			if attempts, err = json.Marshal(clean); err != nil {
				return fmt.Errorf("store: encoding attempts of request %s: %w", e.RequestID, err)
			}
		}
		rows[i] = []any{
			e.Time.UTC().Truncate(time.Microsecond), text(e.RequestID), text(e.NodeID), text(e.Route), text(e.Upstream),
			text(e.Consumer), text(e.Method), text(e.Host), text(e.Path), int64(e.Status), text(e.Code), text(e.Error), string(attempts),
			e.BytesIn, e.BytesOut, e.Duration.Microseconds(), e.UpstreamDuration.Microseconds(),
		}
	}
	if err := db.drv.BulkInsert(ctx, "request_log", requestLogColumns, rows); err != nil {
		return fmt.Errorf("store: inserting %d request log entries: %w", len(entries), err)
	}
	return nil
}

// where accumulates SQL conditions with numbered parameters.
type where struct {
	conds []string
	args  []any
}

// add appends a condition in which "?" stands for the next parameter.
func (w *where) add(cond string, arg any) {
	w.args = append(w.args, arg)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

// sql returns " WHERE a AND b", or "" without conditions.
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// next returns the placeholder for one more argument.
func (w *where) next(arg any) string {
	w.args = append(w.args, arg)
	return "$" + strconv.Itoa(len(w.args))
}

// QueryRequestLogs returns the entries matching f, newest first.
func (db *DB) QueryRequestLogs(ctx context.Context, f store.LogFilter) ([]store.RequestLogEntry, error) {
	if f.Limit < 0 {
		return nil, invalid("log limit %d", f.Limit)
	}
	limit := min(f.Limit, store.MaxLogLimit)
	if limit == 0 {
		limit = store.DefaultLogLimit
	}
	var w where
	// Filter values are cleaned as stored values were, so they match them.
	if f.RequestID != "" {
		w.add("request_id = ?", text(f.RequestID))
	}
	if f.Code != "" {
		w.add("code = ?", text(f.Code))
	}
	if f.Status != 0 {
		w.add("status = ?", int64(f.Status))
	}
	if f.Route != "" {
		w.add("route = ?", text(f.Route))
	}
	if f.Consumer != "" {
		w.add("consumer = ?", f.Consumer)
	}
	if !f.Since.IsZero() {
		w.add("ts >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("ts < ?", dbTime(f.Until))
	}
	query := `SELECT id, ` + strings.Join(requestLogColumns, ", ") + ` FROM request_log` + w.sql() +
		` ORDER BY ts DESC, id DESC LIMIT ` + w.next(int64(limit))
	rows, err := db.drv.Reader().Query(ctx, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: querying request log: %w", err)
	}
	defer rows.Close()
	var out []store.RequestLogEntry
	for rows.Next() {
		var (
			e                store.RequestLogEntry
			status           int64
			attempts         string
			dur, upstreamDur int64
		)
		if err := rows.Scan(&e.ID, scanTime(&e.Time), &e.RequestID, &e.NodeID, &e.Route, &e.Upstream, &e.Consumer,
			&e.Method, &e.Host, &e.Path, &status, &e.Code, &e.Error, &attempts,
			&e.BytesIn, &e.BytesOut, &dur, &upstreamDur); err != nil {
			return nil, fmt.Errorf("store: reading request log: %w", err)
		}
		if err := json.Unmarshal([]byte(attempts), &e.Attempts); err != nil {
			return nil, fmt.Errorf("store: decoding attempts of request %s: %w", e.RequestID, err)
		}
		if len(e.Attempts) == 0 {
			e.Attempts = nil
		}
		e.Status = int(status)
		e.Duration = time.Duration(dur) * time.Microsecond
		e.UpstreamDuration = time.Duration(upstreamDur) * time.Microsecond
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reading request log: %w", err)
	}
	return out, nil
}

// pruneBatch bounds the rows one prune transaction deletes.
const pruneBatch = 5000

// PruneRequestLogs deletes old entries and caps the log at maxRows.
func (db *DB) PruneRequestLogs(ctx context.Context, olderThan time.Time, maxRows int) (int64, error) {
	if maxRows < 0 {
		return 0, invalid("max rows %d", maxRows)
	}
	var total int64
	// deleteWhile deletes batch after batch of rows matching cond until a
	// batch comes out short.
	deleteWhile := func(cond string, args ...any) error {
		limit := "$" + strconv.Itoa(len(args)+1)
		query := `DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE ` + cond + ` LIMIT ` + limit + `)`
		for {
			var n int64
			err := db.runTx(ctx, func(t *txState) error {
				var err error
				n, err = t.q.Exec(ctx, query, append(args, int64(pruneBatch))...)
				return err
			})
			if err != nil {
				return err
			}
			total += n
			if n < pruneBatch {
				return nil
			}
		}
	}
	if !olderThan.IsZero() {
		if err := deleteWhile(`ts < $1`, dbTime(olderThan)); err != nil {
			return total, fmt.Errorf("store: pruning request log by age: %w", err)
		}
	}
	if maxRows > 0 {
		// The oldest entry to keep; everything at or before it in
		// (ts, id) order beyond it goes.
		var (
			ts time.Time
			id int64
		)
		err := db.drv.Reader().QueryRow(ctx, `SELECT ts, id FROM request_log ORDER BY ts DESC, id DESC LIMIT 1 OFFSET $1`,
			int64(maxRows)).Scan(scanTime(&ts), &id)
		switch {
		case errors.Is(err, ErrNoRows):
			return total, nil
		case err != nil:
			return total, fmt.Errorf("store: pruning request log by size: %w", err)
		}
		if err := deleteWhile(`ts < $1 OR (ts = $1 AND id <= $2)`, dbTime(ts), id); err != nil {
			return total, fmt.Errorf("store: pruning request log by size: %w", err)
		}
	}
	return total, nil
}

// usageColumns are the columns BulkInsert fills, in order.
var usageColumns = []string{
	"ts", "day", "request_id", "consumer", "model", "provider", "provider_model",
	"input_tokens", "output_tokens", "cost_usd",
	"route", "cached_tokens", "reasoning_tokens", "attempts", "first_token_ms", "duration_ms", "stream", "partial", "code",
}

// InsertUsage stores entries as one batch.
func (db *DB) InsertUsage(ctx context.Context, entries []store.UsageEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([][]any, len(entries))
	for i := range entries {
		e := &entries[i]
		t := e.Time.UTC().Truncate(time.Microsecond)
		rows[i] = []any{t, t.Format(time.DateOnly), text(e.RequestID), text(e.Consumer), text(e.Model), text(e.Provider), text(e.ProviderModel),
			e.InputTokens, e.OutputTokens, e.CostUSD,
			text(e.Route), e.CachedTokens, e.ReasoningTokens, int64(e.Attempts), ms(e.FirstToken), ms(e.Duration), boolInt(e.Stream), boolInt(e.Partial), text(e.Code)}
	}
	if err := db.drv.BulkInsert(ctx, "ai_usage", usageColumns, rows); err != nil {
		return fmt.Errorf("store: inserting %d usage entries: %w", len(entries), err)
	}
	return nil
}

// QueryUsage sums usage by the requested dimensions.
func (db *DB) QueryUsage(ctx context.Context, f store.UsageFilter) ([]store.UsageRow, error) {
	var w where
	if f.Consumer != "" {
		w.add("consumer = ?", text(f.Consumer))
	}
	if f.Model != "" {
		w.add("model = ?", text(f.Model))
	}
	if f.Provider != "" {
		w.add("provider = ?", text(f.Provider))
	}
	if !f.Since.IsZero() {
		w.add("ts >= ?", dbTime(f.Since))
	}
	if !f.Until.IsZero() {
		w.add("ts < ?", dbTime(f.Until))
	}
	var groups []string
	seen := map[store.UsageGroup]bool{}
	for _, g := range []store.UsageGroup{store.ByDay, store.ByConsumer, store.ByModel, store.ByProvider} { // output order
		for _, want := range f.GroupBy {
			if want == g && !seen[g] {
				groups, seen[g] = append(groups, string(g)), true
			}
		}
	}
	for _, g := range f.GroupBy {
		if !seen[g] {
			return nil, invalid("usage cannot be grouped by %q", g)
		}
	}
	sel := `count(*), CAST(coalesce(sum(input_tokens), 0) AS BIGINT), CAST(coalesce(sum(output_tokens), 0) AS BIGINT),
		CAST(coalesce(sum(cached_tokens), 0) AS BIGINT), CAST(coalesce(sum(reasoning_tokens), 0) AS BIGINT),
		CAST(coalesce(sum(cost_usd), 0) AS DOUBLE PRECISION)`
	query := `SELECT ` + sel + ` FROM ai_usage` + w.sql()
	if len(groups) > 0 {
		cols := strings.Join(groups, ", ")
		query = `SELECT ` + cols + `, ` + sel + ` FROM ai_usage` + w.sql() + ` GROUP BY ` + cols + ` ORDER BY ` + cols
	}
	rows, err := db.drv.Reader().Query(ctx, query, w.args...)
	if err != nil {
		return nil, fmt.Errorf("store: querying usage: %w", err)
	}
	defer rows.Close()
	var out []store.UsageRow
	for rows.Next() {
		var r store.UsageRow
		dest := make([]any, 0, 10)
		for _, g := range groups {
			switch store.UsageGroup(g) {
			case store.ByDay:
				dest = append(dest, &r.Day)
			case store.ByConsumer:
				dest = append(dest, &r.Consumer)
			case store.ByModel:
				dest = append(dest, &r.Model)
			case store.ByProvider:
				dest = append(dest, &r.Provider)
			}
		}
		dest = append(dest, &r.Requests, &r.InputTokens, &r.OutputTokens, &r.CachedTokens, &r.ReasoningTokens, &r.CostUSD)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("store: reading usage: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reading usage: %w", err)
	}
	return out, nil
}

// RegisterNode records a node's heartbeat.
func (db *DB) RegisterNode(ctx context.Context, n store.Node) error {
	if n.ID == "" {
		return invalid("node without an id")
	}
	if err := storable("node", n.ID, n.Hostname, n.Version); err != nil {
		return err
	}
	err := db.runTx(ctx, func(t *txState) error {
		_, err := t.q.Exec(ctx, `INSERT INTO nodes (id, hostname, version, started_at, last_seen) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET hostname = excluded.hostname, version = excluded.version,
				started_at = excluded.started_at, last_seen = excluded.last_seen`,
			n.ID, n.Hostname, n.Version, dbTime(n.Started), now())
		return err
	})
	if err != nil {
		return fmt.Errorf("store: registering node %s: %w", n.ID, err)
	}
	return nil
}

// ListNodes returns every registered node.
func (db *DB) ListNodes(ctx context.Context) ([]store.Node, error) {
	rows, err := db.drv.Reader().Query(ctx, `SELECT id, hostname, version, started_at, last_seen FROM nodes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: listing nodes: %w", err)
	}
	defer rows.Close()
	var out []store.Node
	for rows.Next() {
		var n store.Node
		if err := rows.Scan(&n.ID, &n.Hostname, &n.Version, scanTime(&n.Started), scanTime(&n.LastSeen)); err != nil {
			return nil, fmt.Errorf("store: reading nodes: %w", err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: reading nodes: %w", err)
	}
	return out, nil
}
