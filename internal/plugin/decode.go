package plugin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Decode decodes a plugin's raw config into dst (a pointer to the plugin's
// config struct, with json tags), rejecting unknown fields and wrong types
// with messages that name the field.
func Decode(cfg map[string]any, dst any) error {
	if cfg == nil {
		cfg = map[string]any{}
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("config is not representable: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("%s: expected %s, got %s", te.Field, te.Type, te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("unknown key %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		// A value's own UnmarshalJSON failed (a duration, a size): find
		// which key it was, so the message names the setting.
		if key := failingKey(cfg, dst); key != "" {
			return fmt.Errorf("%s: %w", key, err)
		}
		return err
	}
	return nil
}

// failingKey returns the top-level key of cfg whose value alone fails to
// decode into a fresh value of dst's type, or "".
func failingKey(cfg map[string]any, dst any) string {
	t := reflect.TypeOf(dst)
	if t.Kind() != reflect.Pointer {
		return ""
	}
	for k, v := range cfg {
		b, err := json.Marshal(map[string]any{k: v})
		if err != nil {
			return k
		}
		if json.Unmarshal(b, reflect.New(t.Elem()).Interface()) != nil {
			return k
		}
	}
	return ""
}
