package postgres

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pool is a small pool of *pgx.Conn: at most max connections in use, idle
// ones kept for reuse, a connection that sat idle pinged before it is handed
// out, and one left mid-transaction or broken closed rather than reused.
//
// It stands in for pgxpool, which needs github.com/jackc/puddle/v2, a module
// go.mod does not have; its methods mirror pgxpool.Pool's so the two can be
// swapped.
type pool struct {
	cfg *pgx.ConnConfig
	sem chan struct{} // one token per connection handed out

	mu     sync.Mutex
	idle   []idleConn
	closed bool
}

type idleConn struct {
	conn    *pgx.Conn
	since   time.Time
	created time.Time
}

// Pool tuning.
const (
	// pingIdle: a connection idle longer than this is pinged before use.
	pingIdle = time.Second
	// maxConnLife: a connection older than this is closed instead of
	// reused, so a pool rebalances after a failover.
	maxConnLife = 30 * time.Minute
)

var errPoolClosed = errors.New("store: postgres pool closed")

// newPool returns a pool of at most max connections (0 means
// max(4, GOMAXPROCS), as pgxpool) to cfg. It connects lazily.
func newPool(cfg *pgx.ConnConfig, max int) *pool {
	if max <= 0 {
		max = 4
		if n := runtime.GOMAXPROCS(0); n > max {
			max = n
		}
	}
	return &pool{cfg: cfg, sem: make(chan struct{}, max)}
}

// pooledConn is a connection handed out, with its birth time.
type pooledConn struct {
	conn    *pgx.Conn
	created time.Time
}

// acquire returns a connection for the caller's exclusive use until
// release.
func (p *pool) acquire(ctx context.Context) (pooledConn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return pooledConn{}, ctx.Err()
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			<-p.sem
			return pooledConn{}, errPoolClosed
		}
		if len(p.idle) == 0 {
			p.mu.Unlock()
			break
		}
		ic := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		p.mu.Unlock()
		if ic.conn.IsClosed() || time.Since(ic.created) > maxConnLife {
			closeConn(ic.conn)
			continue
		}
		if time.Since(ic.since) > pingIdle {
			if err := ic.conn.Ping(ctx); err != nil {
				closeConn(ic.conn)
				if ctx.Err() != nil {
					<-p.sem
					return pooledConn{}, ctx.Err()
				}
				continue
			}
		}
		return pooledConn{ic.conn, ic.created}, nil
	}
	conn, err := pgx.ConnectConfig(ctx, p.cfg.Copy())
	if err != nil {
		<-p.sem
		return pooledConn{}, err
	}
	return pooledConn{conn, time.Now()}, nil
}

// release returns pc to the pool, or closes it when it is not idle and
// outside a transaction.
func (p *pool) release(pc pooledConn) {
	reusable := !pc.conn.IsClosed() && !pc.conn.PgConn().IsBusy() && pc.conn.PgConn().TxStatus() == 'I'
	p.mu.Lock()
	if reusable && !p.closed {
		p.idle = append(p.idle, idleConn{conn: pc.conn, since: time.Now(), created: pc.created})
		pc.conn = nil
	}
	p.mu.Unlock()
	if pc.conn != nil {
		closeConn(pc.conn)
	}
	<-p.sem
}

// closeConn closes a connection, waiting at most a second for the server.
func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// Close closes the idle connections; those in use close on release.
func (p *pool) Close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, ic := range idle {
		closeConn(ic.conn)
	}
}

func (p *pool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	pc, err := p.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer p.release(pc)
	return pc.conn.Exec(ctx, sql, args...)
}

func (p *pool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	pc, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := pc.conn.Query(ctx, sql, args...)
	if err != nil {
		p.release(pc)
		return nil, err
	}
	return &poolRows{Rows: rows, release: func() { p.release(pc) }}, nil
}

// QueryRow runs a query whose first row Scan reads; the connection goes
// back to the pool when Scan returns.
func (p *pool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := p.Query(ctx, sql, args...)
	if err != nil {
		return errRow{err}
	}
	return poolRow{rows}
}

func (p *pool) Begin(ctx context.Context) (pgx.Tx, error) {
	pc, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	t, err := pc.conn.Begin(ctx)
	if err != nil {
		p.release(pc)
		return nil, err
	}
	return &poolTx{Tx: t, release: func() { p.release(pc) }}, nil
}

func (p *pool) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	pc, err := p.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer p.release(pc)
	return pc.conn.CopyFrom(ctx, table, columns, src)
}

func (p *pool) Ping(ctx context.Context) error {
	pc, err := p.acquire(ctx)
	if err != nil {
		return err
	}
	defer p.release(pc)
	return pc.conn.Ping(ctx)
}

// poolRows releases its connection on Close (and once Next reports the end).
type poolRows struct {
	pgx.Rows
	release func()
	done    bool
}

func (r *poolRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *poolRows) Close() {
	if r.done {
		return
	}
	r.done = true
	r.Rows.Close()
	r.release()
}

// poolRow is pgx.Row over poolRows.
type poolRow struct{ rows pgx.Rows }

func (r poolRow) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// errRow is a Row whose query failed.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// poolTx releases its connection when it commits or rolls back.
type poolTx struct {
	pgx.Tx
	release func()
	done    bool
}

func (t *poolTx) Commit(ctx context.Context) error {
	err := t.Tx.Commit(ctx)
	t.finish()
	return err
}

func (t *poolTx) Rollback(ctx context.Context) error {
	err := t.Tx.Rollback(ctx)
	t.finish()
	return err
}

func (t *poolTx) finish() {
	if !t.done {
		t.done = true
		t.release()
	}
}
