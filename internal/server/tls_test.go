package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
	"github.com/latchkey-dev/latchkey/internal/testutil/testcert"
)

// writePair writes a fresh self-signed certificate with serial and its key
// to certFile and keyFile.
func writePair(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	c := testcert.New(t, serial)
	if err := os.WriteFile(keyFile, c.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, c.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	// File times tick coarsely (a jiffy), and two pairs may have the same
	// sizes: give each pair its own modification time.
	mtime := time.Now().Add(time.Duration(serial) * time.Minute)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCertReloader: the files are looked at once per CertCheckInterval at
// most; a changed pair that does not load is logged once and the old pair
// kept; a good new pair is served.
func TestCertReloader(t *testing.T) {
	g := newReloaderRig(t)
	r, certFile, keyFile, logs := g.r, g.certFile, g.keyFile, &g.logs
	serial := func() int64 { t.Helper(); return g.serial(t) }
	if got := serial(); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}

	writePair(t, certFile, keyFile, 2)
	if got := serial(); got != 1 {
		t.Fatalf("the files were looked at within %v of the last look: serial %d", CertCheckInterval, got)
	}
	g.now = g.now.Add(CertCheckInterval)
	if got := serial(); got != 2 {
		t.Fatalf("after the interval the changed pair is not served: serial %d, want 2", got)
	}

	if err := os.WriteFile(certFile, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		g.now = g.now.Add(CertCheckInterval)
		if got := serial(); got != 2 {
			t.Fatalf("a broken certificate file replaced the served pair: serial %d, want 2", got)
		}
	}
	if n := strings.Count(logs.String(), "does not load"); n != 1 {
		t.Fatalf("the load error was logged %d times, want once:\n%s", n, logs.String())
	}

	writePair(t, certFile, keyFile, 3)
	g.now = g.now.Add(CertCheckInterval)
	if got := serial(); got != 3 {
		t.Fatalf("the repaired pair is not served: serial %d, want 3", got)
	}

	if tc := TLSConfig(r); tc.MinVersion != tls.VersionTLS12 {
		t.Fatalf("MinVersion %x, want TLS 1.2", tc.MinVersion)
	}
	if _, err := NewCertReloader(filepath.Join(g.dir, "missing.pem"), keyFile, nil); err == nil {
		t.Fatal("a missing certificate file was accepted")
	}
}

// TestCertReloaderUnreadableFiles: on a reload, a certificate file that is
// gone (a renewal tool deleting before writing) or a key that does not
// match keeps the pair served so far, each state of the files logged once;
// the files back in order are served.
func TestCertReloaderUnreadableFiles(t *testing.T) {
	g := newReloaderRig(t)
	certFile, keyFile, logs := g.certFile, g.keyFile, &g.logs
	serial := func() int64 { // each look comes after the check interval
		t.Helper()
		g.now = g.now.Add(CertCheckInterval)
		return g.serial(t)
	}

	if err := os.Remove(certFile); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got := serial(); got != 1 {
			t.Fatalf("with the certificate file gone: serial %d, want the previous 1", got)
		}
	}
	if n := strings.Count(logs.String(), "cannot read the certificate files"); n != 1 {
		t.Fatalf("the missing file was logged %d times, want once:\n%s", n, logs.String())
	}

	// Another pair's key beside this certificate.
	writePair(t, certFile, keyFile, 2)
	other := filepath.Join(g.dir, "other-cert.pem")
	writePair(t, other, keyFile, 3)
	for range 3 {
		if got := serial(); got != 1 {
			t.Fatalf("with a key that does not match: serial %d, want the previous 1", got)
		}
	}
	if n := strings.Count(logs.String(), "does not load"); n != 1 {
		t.Fatalf("the mismatched key was logged %d times, want once:\n%s", n, logs.String())
	}

	writePair(t, certFile, keyFile, 4)
	if got := serial(); got != 4 {
		t.Fatalf("the repaired pair is not served: serial %d, want 4", got)
	}
	if !strings.Contains(logs.String(), "certificate reloaded") {
		t.Fatalf("no reload logged:\n%s", logs.String())
	}
}

// TestHSTSOnlyOverTLS: the whole middleware chain sets
// Strict-Transport-Security on answers over TLS, and never over plain HTTP.
func TestHSTSOnlyOverTLS(t *testing.T) {
	s, _ := newTestServer(t, slog.New(slog.DiscardHandler))
	for _, tc := range []struct {
		srv  *httptest.Server
		want string
	}{{httptest.NewTLSServer(s), HSTS}, {httptest.NewServer(s), ""}} {
		defer tc.srv.Close()
		resp, err := tc.srv.Client().Get(tc.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security"); resp.StatusCode != http.StatusOK || got != tc.want {
			t.Fatalf("%s: %d, Strict-Transport-Security %q, want %q", tc.srv.URL, resp.StatusCode, got, tc.want)
		}
	}
}

// TestSeparateAdmin: with SeparateAdmin the admin API is on AdminHandler
// only; without, on the main handler, and AdminHandler is nil.
func TestSeparateAdmin(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := secrets.NewKeys([]byte(strings.Repeat("s", 32)))
	for _, separate := range []bool{false, true} {
		s, err := New(Options{Store: st, Keys: keys, Issuer: "http://localhost", Logger: slog.New(slog.DiscardHandler), SeparateAdmin: separate})
		if err != nil {
			t.Fatal(err)
		}
		mainCode, _, _ := get(s, "/admin/v1/openapi.json")
		if separate {
			adminCode, _, h := get(s.AdminHandler(), "/admin/v1/openapi.json")
			if mainCode != http.StatusNotFound || adminCode != http.StatusOK || h.Get("X-Request-Id") == "" {
				t.Fatalf("separate: main %d, admin %d (request id %q); want 404, 200 with an id", mainCode, adminCode, h.Get("X-Request-Id"))
			}
			if code, _, _ := get(s.AdminHandler(), "/healthz"); code != http.StatusNotFound {
				t.Fatalf("separate: the admin handler serves /healthz: %d", code)
			}
		} else if mainCode != http.StatusOK || s.AdminHandler() != nil {
			t.Fatalf("not separate: main %d, admin handler %v", mainCode, s.AdminHandler())
		}
	}
}

// reloaderRig is a CertReloader on a certificate and key (serial 1) in a
// temporary directory, its log, and the clock it reads, which tests move.
type reloaderRig struct {
	r                      *CertReloader
	dir, certFile, keyFile string
	logs                   bytes.Buffer
	now                    time.Time
}

func newReloaderRig(t *testing.T) *reloaderRig {
	t.Helper()
	g := &reloaderRig{dir: t.TempDir()}
	g.certFile, g.keyFile = filepath.Join(g.dir, "cert.pem"), filepath.Join(g.dir, "key.pem")
	writePair(t, g.certFile, g.keyFile, 1)
	r, err := NewCertReloader(g.certFile, g.keyFile, slog.New(slog.NewTextHandler(&g.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	g.now = time.Now() // not before: the reloader took the time it loaded at
	r.now = func() time.Time { return g.now }
	g.r = r
	return g
}

// serial is the serial number of the certificate served now.
func (g *reloaderRig) serial(t *testing.T) int64 {
	t.Helper()
	c, err := g.r.GetCertificate(nil)
	if err != nil || c == nil || c.Leaf == nil {
		t.Fatalf("GetCertificate: %v %v", c, err)
	}
	return c.Leaf.SerialNumber.Int64()
}
