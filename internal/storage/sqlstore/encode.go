package sqlstore

import (
	"database/sql"
	"encoding/json"
	"strings"
	"time"
)

// ms stores a time as Unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS reads a time stored by ms.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// nullable stores an optional reference: the empty string becomes NULL, so
// foreign keys hold only for references that are set.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// words stores a list of space-free tokens (scopes, grant types) space-separated.
func words(list []string) string { return strings.Join(list, " ") }

// fromWords reads a list stored by words.
func fromWords(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// jsonText stores a value as JSON text.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // only for unsupported types, which are never passed
		return "null"
	}
	return string(b)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// nullString reads a nullable reference back into a string.
type nullString = sql.NullString
