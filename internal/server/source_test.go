package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/secrets"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// TestSourceAddress: the source is the socket's peer unless that peer is a
// trusted proxy; then it is the right-most address of X-Forwarded-For (or,
// without one, of Forwarded's for=) that is not a trusted proxy.
func TestSourceAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	for _, tc := range []struct {
		name, peer string
		header     http.Header
		want       string
	}{
		{"no proxy", "192.0.2.10:4000", nil, "192.0.2.10"},
		{"untrusted peer's X-Forwarded-For ignored", "192.0.2.10:4000", http.Header{"X-Forwarded-For": {"198.51.100.9"}}, "192.0.2.10"},
		{"untrusted peer's Forwarded ignored", "192.0.2.10:4000", http.Header{"Forwarded": {"for=198.51.100.9"}}, "192.0.2.10"},
		{"trusted peer without header", "10.0.0.5:4000", nil, "10.0.0.5"},
		{"trusted peer names the client", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"198.51.100.9"}}, "198.51.100.9"},
		{"a spoofed left entry is passed over", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"6.6.6.6, 198.51.100.9"}}, "198.51.100.9"},
		{"trusted hops are skipped", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"6.6.6.6, 198.51.100.9, 10.1.2.3"}}, "198.51.100.9"},
		{"header lines join", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"6.6.6.6", "198.51.100.9,10.1.2.3"}}, "198.51.100.9"},
		{"only proxies: the farthest", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"10.9.9.9, 10.1.2.3"}}, "10.9.9.9"},
		{"unknown stops at the proxy that wrote it", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"198.51.100.9, unknown"}}, "10.0.0.5"},
		{"X-Forwarded-For with a port", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"198.51.100.9:5555"}}, "198.51.100.9"},
		{"Forwarded", "10.0.0.5:4000", http.Header{"Forwarded": {`for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"`}}, "2001:db8:cafe::17"},
		{"Forwarded quoted comma", "10.0.0.5:4000", http.Header{"Forwarded": {`for=198.51.100.9;ext="a,b"`}}, "198.51.100.9"},
		{"Forwarded obfuscated", "10.0.0.5:4000", http.Header{"Forwarded": {"for=198.51.100.9, for=_hidden"}}, "10.0.0.5"},
		{"X-Forwarded-For before Forwarded", "10.0.0.5:4000", http.Header{"X-Forwarded-For": {"198.51.100.9"}, "Forwarded": {"for=6.6.6.6"}}, "198.51.100.9"},
		{"IPv6 trusted peer", "[2001:db8:ffff::1]:443", http.Header{"X-Forwarded-For": {"2001:db8:1::7"}}, "2001:db8:1::7"},
		{"IPv4-mapped trusted peer", "[::ffff:10.0.0.5]:4000", http.Header{"X-Forwarded-For": {"198.51.100.9"}}, "198.51.100.9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := SourceAddress(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = oauth.RemoteIP(r) }))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for k, v := range tc.header {
				r.Header[k] = v
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Fatalf("source %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTrustedProxiesThrottleBySource runs the whole server over TCP,
// trusting 127.0.0.2 only: X-Forwarded-For sent from 127.0.0.1 is ignored,
// so guesses naming ever new addresses all count against 127.0.0.1; sent
// from 127.0.0.2 it is the source.
func TestTrustedProxiesThrottleBySource(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := secrets.NewKeys([]byte(strings.Repeat("s", 32)))
	fast := secrets.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	hash, err := secrets.HashPassword("right", fast)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.CreateMerchant(ctx, storage.Merchant{ID: "m1", Name: "M"}),
		st.CreateAccount(ctx, storage.Account{ID: "a1", Kind: storage.Guest, MerchantID: "m1", Username: "ann", PasswordHash: hash}),
		st.CreateClient(ctx, storage.Client{ID: "app", Name: "App", SecretHash: keys.HashClientSecret("app-secret"),
			GrantTypes: []string{oauth.GrantPassword}, Scopes: []string{"s"}, AccessTokenTTL: time.Minute,
			MerchantID: "m1", AccountKind: storage.Guest}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A wait of an hour after the budget, so the test's own pace cannot end it.
	s, err := New(Options{Store: st, Keys: keys, Issuer: "http://localhost", Logger: slog.New(slog.DiscardHandler),
		OAuth:          oauth.Config{Argon2: fast, Throttle: oauth.Throttle{PerAccountSource: 3, Delay: time.Hour, MaxDelay: time.Hour, Window: 2 * time.Hour}},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	clientFrom := func(local string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
		tr := &http.Transport{DialContext: d.DialContext}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	login := func(c *http.Client, xff, password string) int {
		t.Helper()
		form := url.Values{"grant_type": {"password"}, "username": {"ann"}, "password": {password}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		req.SetBasicAuth("app", "app-secret")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	untrusted, proxy := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	for i := range 3 {
		if status := login(untrusted, "203.0.113."+string(rune('1'+i)), "wrong"); status != http.StatusBadRequest {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	if status := login(untrusted, "203.0.113.9", "right"); status != http.StatusTooManyRequests {
		t.Fatalf("a new X-Forwarded-For from an untrusted peer escaped its throttle: %d", status)
	}
	if status := login(proxy, "198.51.100.1", "right"); status != http.StatusOK {
		t.Fatalf("a client behind the trusted proxy: %d", status)
	}
	if status := login(proxy, "127.0.0.1", "right"); status != http.StatusTooManyRequests {
		t.Fatalf("the trusted proxy naming the throttled address: %d", status)
	}
}
