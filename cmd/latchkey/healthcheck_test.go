package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHealthcheckServe runs `latchkey healthcheck` against a real server:
// 0 while it serves (by --url and by the address it derives from --addr and
// from LATCHKEY_ADDR, as in the container), 1 once it is stopped.
func TestHealthcheckServe(t *testing.T) {
	dir := t.TempDir()
	base, stop := startServe(t, dir)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		env  []string
		args []string
	}{
		{"--url", nil, []string{"healthcheck", "--url", base + "/readyz"}},
		// Given its URL, the probe reads no setting, so a bad one cannot fail it.
		{"--url with a bad setting", []string{"LATCHKEY_LOG_LEVEL=loud"}, []string{"healthcheck", "--url", base + "/readyz"}},
		{"--addr", nil, []string{"healthcheck", "--addr", u.Host}},
		{"LATCHKEY_ADDR", []string{"LATCHKEY_ADDR=0.0.0.0:" + u.Port()}, []string{"healthcheck"}},
	} {
		res := runCLI(t, dir, tc.env, tc.args...)
		if res.code != 0 || !strings.Contains(res.stdout, "ready: http://") {
			t.Errorf("%s: healthcheck exited %d, stdout %q, stderr %q", tc.name, res.code, res.stdout, res.stderr)
		}
	}

	if run := stop(syscall.SIGTERM); run.code != 0 {
		t.Fatalf("serve exited %d: %s", run.code, run.stderr)
	}
	res := runCLI(t, dir, nil, "healthcheck", "--url", base+"/readyz")
	if res.code != 1 || !strings.Contains(res.stderr, "healthcheck") {
		t.Errorf("stopped server: healthcheck exited %d, stderr %q; want 1 and a reason", res.code, res.stderr)
	}
}

// TestHealthcheckNotReady checks a 503 from /readyz (the database is down)
// fails the check with the status in the message.
func TestHealthcheckNotReady(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	res := runCLI(t, t.TempDir(), nil, "healthcheck", "--url", srv.URL+"/readyz")
	if res.code != 1 || !strings.Contains(res.stderr, "status 503") {
		t.Errorf("healthcheck exited %d, stderr %q; want 1 and status 503", res.code, res.stderr)
	}
}

// TestHealthcheckTimeout checks a server that never answers fails the
// check once the timeout passes, instead of hanging the container runtime's probe.
func TestHealthcheckTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release) // runs before srv.Close, which waits for the handler

	start := time.Now()
	err := checkReady(context.Background(), srv.URL+"/readyz", 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("checkReady = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("checkReady took %v with a 100ms timeout", d)
	}
}

// TestHealthcheckReadyURL checks the URL derived from the listen address.
func TestHealthcheckReadyURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		":8080":          "http://127.0.0.1:8080/readyz",
		"[::]:8080":      "http://[::1]:8080/readyz",
		"10.1.2.3:9000":  "http://10.1.2.3:9000/readyz",
		"127.0.0.1:8080": "http://127.0.0.1:8080/readyz",
	} {
		if got, err := readyURL(addr, "http"); err != nil || got != want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if got, _ := readyURL("0.0.0.0:8443", "https"); got != "https://127.0.0.1:8443/readyz" {
		t.Errorf("readyURL with TLS = %q", got)
	}
	for _, addr := range []string{"127.0.0.1:0", "no-port"} {
		if got, err := readyURL(addr, "http"); err == nil {
			t.Errorf("readyURL(%q) = %q, want an error", addr, got)
		}
	}
}
