package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestCrashSafety kills `sluice serve` with SIGKILL, again and again, while
// admin writes are in flight. Every write the API acknowledged must be
// there after the restart, and the SQLite database must pass
// PRAGMA integrity_check.
func TestCrashSafety(t *testing.T) {
	const token = "crash-test-token"
	t.Setenv("SLUICE_ADMIN_TOKEN", token)
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(path, []byte("server: { listen: \"127.0.0.1:0\", admin_listen: \"127.0.0.1:0\" }\nlog: { access: \"off\" }\n"), 0o600)
	data := filepath.Join(dir, "data")
	client := &http.Client{Timeout: 5 * time.Second}
	var acked []string
	n := 0
	for round := 0; round < 5; round++ {
		cmd, addr, _ := startServe(t, dir, "--config", path, "--data", data)
		waitAdmin(t, addr)
		admin, _ := adminAddrs.Load(addr)
		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					n++
					name := fmt.Sprintf("u-%d", n)
					mu.Unlock()
					body := fmt.Sprintf(`{"name": %q, "targets": [{"url": "http://127.0.0.1:9"}]}`, name)
					req, _ := http.NewRequest("POST", "http://"+admin.(string)+"/api/v1/upstreams", bytes.NewBufferString(body))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						return // the node died under us
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						mu.Lock()
						acked = append(acked, name)
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(150+round*70) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL: no drain, no flush
		cmd.Wait()
		close(stop)
		wg.Wait()
	}
	if len(acked) < 10 {
		t.Fatalf("only %d writes were acknowledged; the test proves little", len(acked))
	}

	// Restart once more and look for every acknowledged write.
	_, addr, _ := startServe(t, dir, "--config", path, "--data", data)
	waitAdmin(t, addr)
	admin, _ := adminAddrs.Load(addr)
	for _, name := range acked {
		req, _ := http.NewRequest("GET", "http://"+admin.(string)+"/api/v1/upstreams/"+name, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("acknowledged upstream %s is gone after SIGKILL (GET: %d)", name, resp.StatusCode)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "sluice.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&result); err != nil || result != "ok" {
		t.Fatalf("integrity_check = %q, %v", result, err)
	}
	t.Logf("%d acknowledged writes across 5 SIGKILLs, all present; integrity_check ok", len(acked))
}
