package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Listener timing: how long one wait for a notification lasts before the
// connection is pinged, and the bounds of the reconnect back-off.
const (
	listenWait      = 30 * time.Second
	minListenRetry  = 100 * time.Millisecond
	maxListenRetry  = 5 * time.Second
	listenDialLimit = 10 * time.Second
)

// Listen starts the LISTEN connection, which calls wake on every
// notification and once after each (re)connect, so changes committed while
// it was away are picked up. It runs until Close.
func (d *driver) Listen(wake func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.listenLoop(wake)
	}()
}

// listenLoop keeps a LISTEN connection up, backing off between attempts.
func (d *driver) listenLoop(wake func()) {
	retry := minListenRetry
	lost := false
	for d.ctx.Err() == nil {
		err := d.listen(wake, func() {
			retry = minListenRetry
			if lost {
				d.log.Info("store: listening for config changes again", "channel", d.channel)
				lost = false
			}
		})
		if d.ctx.Err() != nil {
			return
		}
		if !lost {
			d.log.Warn("store: lost the LISTEN connection; polling for config changes until it is back", "error", err)
			lost = true
		}
		select {
		case <-d.ctx.Done():
			return
		case <-time.After(retry):
		}
		retry = min(2*retry, maxListenRetry)
	}
}

// listen connects, LISTENs and waits for notifications until the
// connection fails; connected is called once it listens.
func (d *driver) listen(wake, connected func()) error {
	dialCtx, cancel := context.WithTimeout(d.ctx, listenDialLimit)
	conn, err := pgx.ConnectConfig(dialCtx, d.connCfg.Copy())
	if err == nil {
		_, err = conn.Exec(dialCtx, "LISTEN "+pgx.Identifier{d.channel}.Sanitize())
	}
	cancel()
	if conn != nil {
		defer conn.Close(context.WithoutCancel(d.ctx))
	}
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	connected()
	wake()
	for {
		waitCtx, cancel := context.WithTimeout(d.ctx, listenWait)
		_, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			wake()
		case d.ctx.Err() != nil:
			return nil
		case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded):
			// Quiet for a while: make sure the connection is still there,
			// since a silently dropped one would never deliver again.
			pingCtx, cancel := context.WithTimeout(d.ctx, listenDialLimit)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return fmt.Errorf("listen: ping: %w", err)
			}
		default:
			return fmt.Errorf("listen: %w", err)
		}
	}
}
