package sqlstore

import (
	"encoding/json"
	"testing"
)

// TestDetailJSON: the direct encoding of a detail writes what json.Marshal
// writes, for plain details and for those it hands over.
func TestDetailJSON(t *testing.T) {
	for _, d := range []map[string]string{
		nil,
		{},
		{"grant_type": "client_credentials", "owner": "merchant:m-1001", "scope": "user_read user_write",
			"refresh_token": "false", "family": "fam_1a2b"},
		{"": ""},
		{"quote": `say "hi"`},
		{"backslash": `a\b`},
		{"html": "<script>&"},
		{"control": "line\nbreak\x00"},
		{"unicode": "café ✓", "bad": "\xff"},
		{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8", "i": "9"},
	} {
		want := "{}"
		if len(d) > 0 {
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			want = string(b)
		}
		if got := detailJSON(d); got != want {
			t.Errorf("detailJSON(%q) = %s, want %s", d, got, want)
		}
	}
}

func BenchmarkDetailJSON(b *testing.B) {
	d := map[string]string{"grant_type": "client_credentials", "owner": "merchant:m-1001", "scope": "user_read user_write",
		"refresh_token": "false"}
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			detailJSON(d)
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jsonText(d)
		}
	})
}
