package config

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "250ms", want: 250 * time.Millisecond},
		{in: "2s", want: 2 * time.Second},
		{in: "1m30s", want: 90 * time.Second},
		{in: "0s", want: 0},
		{in: "-1s", want: -time.Second},
		{in: " 2s ", want: 2 * time.Second},
		{in: "5", wantErr: "durations need a unit, like 2s"},
		{in: "0", wantErr: "durations need a unit, like 2s"},
		{in: "1.5", wantErr: "durations need a unit, like 2s"},
		{in: "5 s", wantErr: `"5 s" is not a duration; write a Go duration like 250ms, 2s or 1m`},
		{in: "2d", wantErr: `"2d" is not a duration; write a Go duration like 250ms, 2s or 1m`},
		{in: "", wantErr: `"" is not a duration; write a Go duration like 250ms, 2s or 1m`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDuration(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("parseDuration(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.D() != tt.want {
				t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := map[time.Duration]string{
		0:                                 "0s",
		250 * time.Millisecond:            "250ms",
		time.Minute:                       "1m",
		90 * time.Second:                  "1m30s",
		time.Hour:                         "1h",
		time.Hour + time.Minute:           "1h1m",
		time.Hour + time.Second:           "1h0m1s",
		2*time.Hour + 30*time.Millisecond: "2h0m0.03s",
	}
	for d, want := range tests {
		got := Duration(d).String()
		if got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		if back, err := parseDuration(got); err != nil || back.D() != d {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}

func TestDurationJSON(t *testing.T) {
	b, err := json.Marshal(struct{ T Duration }{Duration(1500 * time.Millisecond)})
	if err != nil || string(b) != `{"T":"1.5s"}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var v struct{ T Duration }
	if err := json.Unmarshal([]byte(`{"T":"2m"}`), &v); err != nil || v.T.D() != 2*time.Minute {
		t.Errorf("Unmarshal string = %v, %v", v.T, err)
	}
	if err := json.Unmarshal([]byte(`{"T":5}`), &v); !errors.Is(err, errDurationUnit) {
		t.Errorf("Unmarshal number: err = %v, want errDurationUnit", err)
	}
	if err := json.Unmarshal([]byte(`{"T":true}`), &v); err == nil {
		t.Error("Unmarshal bool: want an error")
	}
}

func TestDurationPlainYAML(t *testing.T) {
	var v struct {
		T Duration `yaml:"t"`
	}
	if err := yaml.Unmarshal([]byte("t: 3s"), &v); err != nil || v.T.D() != 3*time.Second {
		t.Errorf("Unmarshal = %v, %v", v.T, err)
	}
	if err := yaml.Unmarshal([]byte("t: 3"), &v); err == nil || err.Error() != "line 1: durations need a unit, like 2s" {
		t.Errorf("Unmarshal bare number: err = %v", err)
	}
	out, err := yaml.Marshal(struct {
		T Duration `yaml:"t"`
	}{Duration(time.Minute)})
	if err != nil || string(out) != "t: 1m\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr bool
	}{
		{in: "512", want: 512},
		{in: "512B", want: 512},
		{in: "64KiB", want: 64 << 10},
		{in: "64 kib", want: 64 << 10},
		{in: "1MiB", want: 1 << 20},
		{in: "2GiB", want: 2 << 30},
		{in: "10KB", want: 10_000},
		{in: "3MB", want: 3_000_000},
		{in: "1GB", want: 1_000_000_000},
		{in: "0", want: 0},
		{in: "1.5MiB", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "12XB", wantErr: true},
		{in: "", wantErr: true},
		{in: "9223372036854775807", want: 1<<63 - 1},
		{in: "9223372036854775807KiB", wantErr: true},
		{in: "99999999999999999999", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseByteSize(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseByteSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestByteSizeStringRoundTrips(t *testing.T) {
	for size, want := range map[ByteSize]string{
		0: "0B", 1: "1B", 1000: "1000B", KiB: "1KiB", 64 * KiB: "64KiB",
		MiB + KiB: "1025KiB", MiB: "1MiB", 3 * GiB: "3GiB", MB: "1000000B",
	} {
		if got := size.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(size), got, want)
		}
		if back, err := parseByteSize(want); err != nil || back != size {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", want, back, err, int64(size))
		}
	}
}

func TestByteSizeJSON(t *testing.T) {
	b, err := json.Marshal(struct{ S ByteSize }{64 * KiB})
	if err != nil || string(b) != `{"S":65536}` {
		t.Errorf("Marshal = %s, %v", b, err)
	}
	var v struct{ S ByteSize }
	for in, want := range map[string]ByteSize{`{"S":1024}`: KiB, `{"S":"2MiB"}`: 2 * MiB} {
		if err := json.Unmarshal([]byte(in), &v); err != nil || v.S != want {
			t.Errorf("Unmarshal %s = %d, %v; want %d", in, v.S, err, want)
		}
	}
	for _, in := range []string{`{"S":-1}`, `{"S":1.5}`, `{"S":"lots"}`, `{"S":[]}`} {
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("Unmarshal %s: want an error", in)
		}
	}
}
