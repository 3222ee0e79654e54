package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in config as a Go duration string
// ("250ms", "2s", "1m30s"). A bare number is rejected: durations need a unit.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d as a Go duration without trailing zero units: "1m", not
// "1m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

var errDurationUnit = errors.New("durations need a unit, like 2s")

// parseDuration parses a Go duration string. A plain number is refused with
// errDurationUnit so the user learns what to write instead.
func parseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err == nil && strings.ContainsAny(s, "nsuµmh") {
		return Duration(d), nil
	}
	if isNumber(strings.TrimSpace(s)) {
		return 0, errDurationUnit
	}
	return 0, fmt.Errorf("%s is not a duration; write a Go duration like 250ms, 2s or 1m", quoteShort(s))
}

// isNumber reports whether s is a plain decimal number like 5, -1 or 0.5.
func isNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string. Parse does not use it (it decodes
// durations itself, to report problems with lines); it is here so Duration
// also works with plain yaml.Unmarshal.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a duration like 2s", n.Line)
	}
	if tag := n.ShortTag(); tag == "!!int" || tag == "!!float" {
		return fmt.Errorf("line %d: %w", n.Line, errDurationUnit)
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = v
	return nil
}

// MarshalJSON writes d as a JSON string like "2s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a JSON string like "2s". A JSON number is refused:
// durations need a unit.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var f float64
		if json.Unmarshal(b, &f) == nil {
			return errDurationUnit
		}
		return errors.New("expected a duration string like 2s")
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ByteSize is a size in bytes. Config accepts a plain integer (bytes) or a
// string with a unit: B, KiB, MiB, GiB (powers of 1024) or KB, MB, GB
// (powers of 1000), case-insensitive, e.g. "512B", "64KiB", "1MiB".
type ByteSize int64

// Byte size units.
const (
	KiB ByteSize = 1 << 10
	MiB ByteSize = 1 << 20
	GiB ByteSize = 1 << 30
	KB  ByteSize = 1000
	MB  ByteSize = 1000 * KB
	GB  ByteSize = 1000 * MB
)

var byteUnits = map[string]ByteSize{
	"": 1, "b": 1,
	"kib": KiB, "mib": MiB, "gib": GiB,
	"kb": KB, "mb": MB, "gb": GB,
}

// String formats b with the largest binary unit that divides it exactly,
// "64KiB" or "1000B"; the result parses back to b.
func (b ByteSize) String() string {
	switch {
	case b != 0 && b%GiB == 0:
		return strconv.FormatInt(int64(b/GiB), 10) + "GiB"
	case b != 0 && b%MiB == 0:
		return strconv.FormatInt(int64(b/MiB), 10) + "MiB"
	case b != 0 && b%KiB == 0:
		return strconv.FormatInt(int64(b/KiB), 10) + "KiB"
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// parseByteSize parses a non-negative integer followed by an optional unit.
func parseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	unit, ok := byteUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if i == 0 || !ok {
		return 0, fmt.Errorf("%s is not a size; write bytes or a size like 512B, 64KiB or 1MiB", quoteShort(s))
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/int64(unit) {
		return 0, fmt.Errorf("%s is too large", quoteShort(s))
	}
	return ByteSize(n) * unit, nil
}

// MarshalYAML writes b as a size string like "64KiB".
func (b ByteSize) MarshalYAML() (any, error) { return b.String(), nil }

// UnmarshalYAML reads an integer byte count or a size string. Like
// Duration.UnmarshalYAML it exists for plain yaml.Unmarshal; Parse decodes
// sizes itself.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a size like 64KiB", n.Line)
	}
	v, err := parseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalJSON writes b as a JSON number of bytes.
func (b ByteSize) MarshalJSON() ([]byte, error) { return strconv.AppendInt(nil, int64(b), 10), nil }

// UnmarshalJSON reads a JSON number of bytes or a size string like "64KiB".
func (b *ByteSize) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		var n int64
		if err := json.Unmarshal(data, &n); err != nil || n < 0 {
			return errors.New("expected a byte count or a size like 64KiB")
		}
		*b = ByteSize(n)
		return nil
	}
	v, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// quoteShort quotes s for a message, cutting it short so a long value (or
// a secret pasted in the wrong place) does not flood the report.
func quoteShort(s string) string {
	const limit = 40
	if len(s) > limit {
		r := []rune(s)
		if len(r) > limit {
			s = string(r[:limit]) + "…"
		}
	}
	return strconv.Quote(s)
}
