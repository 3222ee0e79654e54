package sqlcore

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sluicegw/sluice/internal/store"
)

func TestHasEscapedNUL(t *testing.T) {
	cases := []struct {
		name, doc string
		want      bool
	}{
		{"none", `{"a":"b"}`, false},
		{"escaped NUL", `{"a":"x\u0000y"}`, true},
		{"literal backslash-u text", `{"a":"x\\u0000y"}`, false},
		{"escaped backslash then NUL", `{"a":"x\\\u0000"}`, true},
		{"other escape", `{"a":"\u0001"}`, false},
		{"at the start", `\u0000`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasEscapedNUL([]byte(tc.doc)); got != tc.want {
				t.Errorf("hasEscapedNUL(%s) = %v, want %v", tc.doc, got, tc.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"a\x00b", "ab"},
		{"a\xffb", "a\uFFFDb"},
		{"\x00\xfe", "\uFFFD"},
	}
	for _, tc := range cases {
		if got := text(tc.in); got != tc.want || !isText(got) {
			t.Errorf("text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLoadMigrations(t *testing.T) {
	cases := []struct {
		name    string
		files   fstest.MapFS
		want    []string
		wantErr string
	}{
		{"sorted by version", fstest.MapFS{
			"0010_ten.sql": {Data: []byte("x")}, "0002_two.sql": {Data: []byte("y")}, "README": {Data: []byte("z")},
		}, []string{"0002_two.sql", "0010_ten.sql"}, ""},
		{"bad name", fstest.MapFS{"init.sql": {}}, nil, "NNNN_description.sql"},
		{"zero version", fstest.MapFS{"0000_zero.sql": {}}, nil, "NNNN_description.sql"},
		{"duplicate version", fstest.MapFS{"0001_a.sql": {}, "1_b.sql": {}}, nil, "share version 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := LoadMigrations(tc.files)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, m := range ms {
				names = append(names, m.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("migrations %v, want %v", names, tc.want)
			}
		})
	}
}

func TestCheckPage(t *testing.T) {
	if _, _, err := checkPage(store.Page{Offset: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("negative offset: %v", err)
	}
	if limit, offset, err := checkPage(store.Page{Offset: 3}); err != nil || limit < 1<<40 || offset != 3 {
		t.Fatalf("size 0 = all: limit %d offset %d err %v", limit, offset, err)
	}
}

func TestTimeColumn(t *testing.T) {
	want := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	cases := []struct {
		name string
		src  any
		want time.Time
	}{
		{"sqlite micros", want.UnixMicro(), want},
		{"postgres time", want.In(time.FixedZone("x", 3600)), want},
		{"null", nil, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := time.Now()
			if err := scanTime(&got).Scan(tc.src); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("got %v, want %v in UTC", got, tc.want)
			}
		})
	}
	var got time.Time
	if err := scanTime(&got).Scan("2030-01-01"); err == nil {
		t.Fatal("a string scanned as a time")
	}
}
