package store

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
)

type nopSealer struct{}

func (nopSealer) Encrypt(p, _ []byte) ([]byte, error) { return p, nil }
func (nopSealer) Decrypt(p, _ []byte) ([]byte, error) { return p, nil }

func TestRegistry(t *testing.T) {
	errOpened := errors.New("opened")
	var gotDSN string
	driver := "test-" + rand.Text() // the registry is global: -count=N registers again
	Register(driver, func(_ context.Context, dsn string, _ Options) (Store, error) {
		gotDSN = dsn
		return nil, errOpened
	})
	cases := []struct {
		name    string
		driver  string
		opts    Options
		want    error
		wantMsg string
	}{
		{"registered", driver, Options{Sealer: nopSealer{}}, errOpened, ""},
		{"unknown", "mysql", Options{Sealer: nopSealer{}}, nil, `unknown driver "mysql"`},
		{"no sealer", driver, Options{}, ErrInvalid, "Sealer"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			gotDSN = ""
			_, err := Open(context.Background(), tc.driver, "the-dsn", tc.opts)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantMsg)
			}
			if (tc.want == errOpened) != (gotDSN == "the-dsn") {
				t.Fatalf("driver called with %q", gotDSN)
			}
		})
	}
	if !strings.Contains(strings.Join(Drivers(), ","), driver) {
		t.Fatalf("Drivers() = %v", Drivers())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering a name twice did not panic")
		}
	}()
	Register(driver, func(context.Context, string, Options) (Store, error) { return nil, nil })
}
