package metrics

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestPasswordHashesCachedForAMinute(t *testing.T) {
	clock := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	calls := 0
	var fail error
	counts := map[string]int64{"bcrypt": 3, "argon2id": 5}
	c := newHashesCollector(func(context.Context) (map[string]int64, error) {
		calls++
		if fail != nil {
			return nil, fail
		}
		return counts, nil
	}, func() time.Time { return clock })
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	value := func(scheme string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == scheme {
					return m.GetGauge().GetValue()
				}
			}
		}
		return -1
	}
	if v := value("bcrypt"); v != 3 || calls != 1 {
		t.Fatalf("bcrypt = %v after %d counts, want 3 after 1", v, calls)
	}
	if v := value("scrypt"); v != 0 {
		t.Fatalf("a scheme no account has: %v, want a 0 sample", v)
	}
	counts = map[string]int64{"bcrypt": 1, "argon2id": 7, "weird": 2}
	clock = clock.Add(59 * time.Second)
	if v := value("bcrypt"); v != 3 || calls != 1 {
		t.Fatalf("within the minute: bcrypt = %v after %d counts, want the cached 3 and no new count", v, calls)
	}
	clock = clock.Add(time.Second)
	if v, w := value("bcrypt"), value("weird"); v != 1 || w != 2 || calls != 2 {
		t.Fatalf("after a minute: bcrypt = %v, weird = %v after %d counts, want 1, 2 after 2", v, w, calls)
	}
	fail = errors.New("database down")
	clock = clock.Add(time.Minute)
	if v := value("bcrypt"); v != 1 || calls != 3 {
		t.Fatalf("a failed count: bcrypt = %v after %d counts, want the last 1 after 3", v, calls)
	}
	if v := value("bcrypt"); v != 1 || calls != 3 {
		t.Fatalf("a failure is not retried within the minute: %d counts", calls)
	}
}

// TestPasswordHashesSpacedBySlowCounts: a count that takes 2 s waits 200 s,
// not a minute, for the next, so a large database is not counted too often.
func TestPasswordHashesSpacedBySlowCounts(t *testing.T) {
	clock := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	calls := 0
	c := newHashesCollector(func(context.Context) (map[string]int64, error) {
		calls++
		clock = clock.Add(2 * time.Second) // the count's own time
		return map[string]int64{"bcrypt": int64(calls)}, nil
	}, func() time.Time { return clock })
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	gather := func() {
		t.Helper()
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	gather()
	clock = clock.Add(3 * time.Minute) // 182 s after the count began
	gather()
	if calls != 1 {
		t.Fatalf("%d counts within 200 s of a 2 s count, want 1", calls)
	}
	clock = clock.Add(18 * time.Second)
	gather()
	if calls != 2 {
		t.Fatalf("%d counts 200 s after a 2 s count, want 2", calls)
	}
}

func TestPasswordHashesRegistered(t *testing.T) {
	m := New()
	if err := m.CountPasswordHashes(func(context.Context) (map[string]int64, error) {
		return map[string]int64{"pbkdf2-sha256": 4}, nil
	}); err != nil {
		t.Fatal(err)
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		if mf.GetName() != "latchkey_password_hashes" {
			continue
		}
		if mf.GetType().String() != "GAUGE" {
			t.Fatalf("type %v, want a gauge", mf.GetType())
		}
		for _, s := range mf.GetMetric() {
			got = append(got, fmt.Sprintf("%s=%v", s.GetLabel()[0].GetValue(), s.GetGauge().GetValue()))
		}
	}
	want := "argon2i=0 argon2id=0 bcrypt=0 none=0 other=0 pbkdf2-sha1=0 pbkdf2-sha256=4 pbkdf2-sha512=0 scrypt=0 sha256-salted=0 sha512-salted=0"
	if strings.Join(got, " ") != want {
		t.Fatalf("latchkey_password_hashes:\n got  %s\n want %s", strings.Join(got, " "), want)
	}
}
