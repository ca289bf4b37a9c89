package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// BenchmarkClientCredentials measures the whole token endpoint in process:
// HTTP, client authentication, minting and a durable write.
func BenchmarkClientCredentials(b *testing.B) {
	post := benchServer(b, "flexitidemo", "77xde15a-9d33-4c15-930a-3se4b3as33e9")
	benchPosts(b, post, "/oauth2/token", "grant_type=client_credentials")
}

// BenchmarkIntrospect measures introspection in process: HTTP, the
// caller's authentication, the token's read and the answer.
func BenchmarkIntrospect(b *testing.B) {
	post := benchServer(b, "demo-api", "demo-api-secret")
	resp, err := post("/oauth2/token", "grant_type=client_credentials")
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		b.Fatalf("get a token: status %d, %v", resp.StatusCode, err)
	}
	benchPosts(b, post, "/oauth2/introspect", "token="+tok.AccessToken)
}

// benchServer starts the server on a fresh SQLite file with the demo data
// and returns a function that posts a form to it as the given client.
func benchServer(b *testing.B, client, secret string) func(path, body string) (*http.Response, error) {
	b.Helper()
	ts := demoServer(b, sqlstore.Options{}, Options{Issuer: "http://bench"})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return func(path, body string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(client, secret)
		return hc.Do(req)
	}
}

// benchPosts posts body to path from 32 goroutines per processor, b.N
// times in all, and fails on any answer but 200.
func benchPosts(b *testing.B, post func(path, body string) (*http.Response, error), path, body string) {
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := post(path, body)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
