// Package webtest drives latchkey's pages over plain HTTP in tests: a
// cookie-keeping client that does not follow redirects, and readers for the
// hidden fields of a page's form.
package webtest

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Agent is a browser-like client: it keeps cookies and stops at redirects.
type Agent struct {
	t *testing.T
	c *http.Client
}

// NewAgent returns an agent with an empty cookie jar.
func NewAgent(t *testing.T) *Agent {
	jar, _ := cookiejar.New(nil)
	return &Agent{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Do sends req and returns the status, headers and body.
func (a *Agent) Do(req *http.Request) (int, http.Header, string) {
	a.t.Helper()
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// Get fetches u.
func (a *Agent) Get(u string) (int, http.Header, string) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return a.Do(req)
}

// Post submits form to u.
func (a *Agent) Post(u string, form url.Values) (int, http.Header, string) {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.Do(req)
}

var (
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form id="[^"]+" method="post" action="([^"]+)"`)
)

// Form returns the hidden fields of the page's form and where it posts.
func Form(body string) (action string, fields url.Values) {
	fields = url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		fields.Set(m[1], html.UnescapeString(m[2]))
	}
	if m := formAction.FindStringSubmatch(body); m != nil {
		action = html.UnescapeString(m[1])
	}
	return action, fields
}

// Submit posts the page's form with extra fields set, relative to base.
func (a *Agent) Submit(base, body string, extra url.Values) (int, http.Header, string) {
	a.t.Helper()
	action, fields := Form(body)
	if action == "" {
		a.t.Fatalf("the page has no form to submit:\n%s", body)
	}
	for k, v := range extra {
		fields[k] = v
	}
	return a.Post(base+action, fields)
}
