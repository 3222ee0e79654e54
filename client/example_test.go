package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/sluicegw/sluice/client"
)

// Calling an API with an extra header; a 503 on the way is retried.
func ExampleClient_Do() {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "order 42, API version %s", r.Header.Get("X-Api-Version"))
	}))
	defer srv.Close()

	c := client.New()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/orders/42", nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("X-Api-Version", "2")
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "after", hits.Load(), "attempts")
	// Output: 200 order 42, API version 2 after 2 attempts
}

// Handling a 502 from sluice: the code says what failed, the request id
// finds the gateway's log line with every attempt.
func ExampleError() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Sluice-Error", "upstream_connect_failed")
		w.Header().Set("X-Request-Id", "5be1c0d7a3e44b0f")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, `{"type":"about:blank","title":"Bad Gateway","status":502,"code":"upstream_connect_failed",`+
			`"detail":"The upstream refused the connection.","request_id":"5be1c0d7a3e44b0f"}`)
	}))
	defer srv.Close()

	c := client.New(client.WithBackoff(time.Millisecond, 10*time.Millisecond))
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/orders", nil)
	_, err := c.Do(req)
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println("status:", e.StatusCode)
		fmt.Println("code:", e.Code)
		fmt.Println("request id:", e.RequestID)
		fmt.Println("detail:", e.Detail)
		fmt.Println("attempts:", e.Attempts)
	}
	// Output:
	// status: 502
	// code: upstream_connect_failed
	// request id: 5be1c0d7a3e44b0f
	// detail: The upstream refused the connection.
	// attempts: 3
}

// Treating every non-2xx status as an error.
func ExampleCheckResponse() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Sluice-Error", "unauthorized")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"title":"Unauthorized","status":401,"code":"unauthorized","detail":"The request lacks valid credentials."}`)
	}))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/private", nil)
	resp, err := client.New().Do(req)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	if err := client.CheckResponse(resp); err != nil {
		var e *client.Error
		errors.As(err, &e)
		fmt.Println(e.StatusCode, e.Code, e.Detail)
		return
	}
	defer resp.Body.Close()
	// Output: 401 unauthorized The request lacks valid credentials.
}

// Giving retries to code that takes an *http.Client.
func ExampleClient_RoundTrip() {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()

	hc := &http.Client{Transport: client.New(client.WithMaxAttempts(4))}
	resp, err := hc.Get(srv.URL)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.StatusCode, "after", hits.Load(), "attempts")
	// Output: 200 after 3 attempts
}
