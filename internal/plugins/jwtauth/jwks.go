package jwtauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxJWKSBytes bounds a JWKS document.
const maxJWKSBytes = 1 << 20

// jwksSource fetches, caches and refreshes the keys of one JWKS URL. It is
// shared, through plugin.State, by every jwt instance with the same URL and
// fetch settings, and survives config reloads, so a reload does not
// refetch. It starts no goroutine of its own that outlives a fetch: the
// keys are fetched on first use, refreshed in the background when a
// request finds them older than the refresh interval, and refetched
// synchronously when a token names an unknown kid (a key the issuer just
// rotated in). Fetches are single-flight and at most one starts per
// minimum refetch interval, so a flood of tokens with made-up kids costs
// the issuer one request per interval. A failed fetch keeps the previous
// keys. It is safe for concurrent use.
type jwksSource struct {
	url     string
	logURL  string // without userinfo or query, for logs
	timeout time.Duration
	refresh time.Duration
	minGap  time.Duration
	allowed []string
	client  *http.Client
	log     *slog.Logger

	set        atomic.Pointer[keySet]
	fetchedAt  atomic.Int64 // unix nanoseconds of the last successful fetch
	attemptAt  atomic.Int64 // unix nanoseconds of the last fetch attempt
	refreshing atomic.Bool
	mu         sync.Mutex // held for the duration of a fetch
}

// jwksOptions are the fetch settings of a JWKS source.
type jwksOptions struct {
	url                      string
	timeout, refresh, minGap time.Duration
	allowed                  []string
}

// stateKey is the plugin.State key of the source for o.
func (o jwksOptions) stateKey() string {
	return fmt.Sprintf("jwt/jwks|%s|%s|%s|%s|%s", o.url, o.timeout, o.refresh, o.minGap, strings.Join(o.allowed, ","))
}

// newJWKSSource returns a source for o; it fetches nothing yet.
func newJWKSSource(o jwksOptions, log *slog.Logger) *jwksSource {
	u, _ := url.Parse(o.url)
	logURL := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = o.timeout
	return &jwksSource{
		url: o.url, logURL: logURL, timeout: o.timeout, refresh: o.refresh, minGap: o.minGap,
		allowed: o.allowed, log: log,
		client: &http.Client{
			Transport: tr,
			Timeout:   o.timeout,
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("too many redirects")
				}
				return checkJWKSURL(req.URL)
			},
		},
	}
}

// errJWKSUnavailable and errUnknownKid are lookup failures.
var (
	errJWKSUnavailable = errors.New("JWKS keys are unavailable")
	errUnknownKid      = errors.New("no JWKS key has the token's kid")
)

// lookup returns the key a token with kid ("" for none) must be verified
// with.
func (s *jwksSource) lookup(kid string) (*jwk, error) {
	set := s.set.Load()
	if set == nil {
		if set = s.fetch(); set == nil {
			return nil, errJWKSUnavailable
		}
	} else if time.Since(time.Unix(0, s.fetchedAt.Load())) > s.refresh {
		s.refreshInBackground()
	}
	if k := set.find(kid); k != nil {
		return k, nil
	}
	if k := s.fetch().find(kid); k != nil {
		return k, nil
	}
	return nil, errUnknownKid
}

// refreshInBackground starts one background fetch unless one is running.
func (s *jwksSource) refreshInBackground() {
	if !s.refreshing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.refreshing.Store(false)
		s.fetch()
	}()
}

// fetch fetches the keys, unless a fetch was attempted less than minGap
// ago, and returns the current set (nil when no fetch ever succeeded).
// Concurrent callers wait for one fetch and share its result.
func (s *jwksSource) fetch() *keySet {
	s.mu.Lock()
	defer s.mu.Unlock()
	if last := s.attemptAt.Load(); last != 0 && time.Since(time.Unix(0, last)) < s.minGap {
		return s.set.Load()
	}
	start := time.Now()
	s.attemptAt.Store(start.UnixNano())
	set, skipped, err := s.get()
	if err != nil {
		s.log.Warn("jwt: JWKS fetch failed", "url", s.logURL, "error", err.Error(), "keeping_previous_keys", s.set.Load() != nil)
		return s.set.Load()
	}
	s.set.Store(set)
	s.fetchedAt.Store(time.Now().UnixNano())
	s.log.Debug("jwt: JWKS fetched", "url", s.logURL, "keys", len(set.byKid), "skipped", skipped, "duration", time.Since(start))
	return set
}

// get makes one JWKS request.
func (s *jwksSource) get() (*keySet, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		// A *url.Error repeats the URL, which may carry a secret in its
		// query; the cause alone is enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("JWKS answered status %d", resp.StatusCode)
	}
	doc, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("reading JWKS: %w", err)
	}
	if len(doc) > maxJWKSBytes {
		return nil, 0, fmt.Errorf("JWKS is larger than %d bytes", maxJWKSBytes)
	}
	return parseKeySet(doc, s.allowed)
}

// checkJWKSURL accepts https URLs, and http ones only to a loopback host
// (where nothing on the network can swap the keys).
func checkJWKSURL(u *url.URL) error {
	switch {
	case u.Host == "" || u.Opaque != "":
		return errors.New("needs an absolute URL with a host")
	case u.Fragment != "":
		return errors.New("must not have a fragment")
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return fmt.Errorf("scheme %q is not https", u.Scheme)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("must be https (plain http only to a loopback address)")
}
