package config

import (
	"errors"
	"slices"
	"testing"
)

// TestTracingConfig pins the telemetry.tracing section: its defaults, the
// traces URL, and every problem reported with its line.
func TestTracingConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := Parse("test.yaml", yamlLines("telemetry:", "  tracing: { enabled: true }"))
		if err != nil {
			t.Fatal(err)
		}
		tr := c.Telemetry.Tracing
		if !tr.Enabled || tr.Endpoint != "http://127.0.0.1:4318" || tr.SampleRatio != 0.01 || tr.ServiceName != "sluice" || tr.Headers != nil {
			t.Errorf("defaults = %+v", tr)
		}
		if got := tr.TracesURL(); got != "http://127.0.0.1:4318/v1/traces" {
			t.Errorf("TracesURL = %q", got)
		}
		if Default().Telemetry.Tracing.Enabled {
			t.Error("tracing is on by default")
		}
	})
	t.Run("traces URL", func(t *testing.T) {
		for endpoint, want := range map[string]string{
			"https://otel.example.com":         "https://otel.example.com/v1/traces",
			"https://otel.example.com/":        "https://otel.example.com/v1/traces",
			"http://10.0.0.1:4318/custom/path": "http://10.0.0.1:4318/custom/path",
		} {
			tr := Tracing{Endpoint: endpoint}
			if got := tr.TracesURL(); got != want {
				t.Errorf("TracesURL(%q) = %q, want %q", endpoint, got, want)
			}
		}
	})
	t.Run("problems", func(t *testing.T) {
		_, err := Parse("test.yaml", yamlLines(
			"telemetry:",
			"  tracing:",
			"    enabled: true",
			`    endpoint: "grpc://user:pw@collector:4317"`,
			"    sample_ratio: 1.5",
			`    service_name: " "`,
			"    headers:",
			`      "Bad Header": x`,
			`      X-Token: "a\r\nInjected: 1"`,
			"    sampler: always",
		))
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("err = %v, want Problems", err)
		}
		var got []string
		for _, p := range ps {
			got = append(got, p.String())
		}
		want := []string{
			"test.yaml:4: telemetry.tracing.endpoint: must be a URL like http://127.0.0.1:4318 or https://collector.example.com/v1/traces, with no credentials, query or fragment",
			"test.yaml:5: telemetry.tracing.sample_ratio: must be between 0 and 1, got 1.5",
			"test.yaml:6: telemetry.tracing.service_name: must not be empty",
			`test.yaml:8: telemetry.tracing.headers["Bad Header"]: "Bad Header" is not a valid header name`,
			"test.yaml:9: telemetry.tracing.headers.X-Token: the value must not contain line breaks or NUL bytes",
			`test.yaml:10: unknown key "sampler" in telemetry.tracing`,
		}
		if !slices.Equal(got, want) {
			t.Errorf("problems:\n%s\nwant:\n%s", join(got), join(want))
		}
	})
	t.Run("a disabled section is still checked", func(t *testing.T) {
		_, err := Parse("test.yaml", yamlLines("telemetry:", "  tracing:", "    sample_ratio: -1"))
		if err == nil || err.Error() != "test.yaml:3: telemetry.tracing.sample_ratio: must be between 0 and 1, got -1" {
			t.Errorf("err = %v", err)
		}
	})
}

func join(lines []string) string {
	out := ""
	for _, l := range lines {
		out += "  " + l + "\n"
	}
	return out
}
