package dialect_test

// The golden-file replayer: it reads the exchanges stored under
// testdata/golden (their format is described in testdata/golden/README.md),
// sends each request as written and compares the answer with the stored
// one: the status, the listed headers, and the JSON body key by key, in
// order, with nothing missing and nothing extra.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testutil/webtest"
)

// goldenDir holds one directory per scenario; each scenario's files are
// exchanges replayed in name order against one fresh demo server.
const goldenDir = "testdata/golden"

// goldenExt is the extension of an exchange file.
const goldenExt = ".golden"

// responseMarker separates an exchange's request from its expected response.
const responseMarker = "\n=== response\n"

// maskKind is a named pattern a masked value must match.
type maskKind struct {
	pattern string // a regular expression, unanchored
	sample  string // a value that matches it, for the replayer's own tests
}

// token is the body of an opaque latchkey token: 48 bytes (issue time,
// 256 random bits, MAC tag) in unpadded base64url.
const token = `[A-Za-z0-9_-]{64}`

// maskKinds are the patterns a golden file may name in {{name:kind}}.
var maskKinds = map[string]maskKind{
	"lk_at": {`lk_at_` + token, "lk_at_" + strings.Repeat("A", 64)}, // an access token
	"lk_rt": {`lk_rt_` + token, "lk_rt_" + strings.Repeat("B", 64)}, // a refresh token
	"lk_ac": {`lk_ac_` + token, "lk_ac_" + strings.Repeat("C", 64)}, // an authorization code
	// A human sentence on one line: a capital first (or a parameter's name,
	// spelled as is: "client_secret differs …"), a full stop last.
	"sentence": {`(?:[A-Z"]|[a-z][^ \n]*[_\-"0-9])[^\n]*\.`, "client_secret differs from the secret in the Authorization header."},
	// One non-empty line of human text.
	"text": {`\S[^\n]*`, "client authentication failed"},
	// An RFC 9745 date: @ and Unix seconds.
	"unixdate": {`@[0-9]+`, "@1593561600"},
}

// exchange is one stored request and the response it must get.
type exchange struct {
	file    string
	method  string
	target  string      // path and query, relative to the server
	headers [][2]string // request headers, in file order
	pages   []pageStep  // the pages a browser goes through before the answer
	body    string      // request body, byte for byte

	status      int
	wantHeaders [][2]string // response headers that must be there, each once
	allowExtra  []string    // paths that may appear although not listed
	wantBody    string      // expected JSON, "" when the body is not compared
}

// pageStep is one authorization page: the form it must show and the fields
// the browser fills in before submitting it.
type pageStep struct {
	form   string
	fields url.Values
}

// mismatch is one way an answer differs from the stored one.
type mismatch struct {
	Path    string // "status", "header Name", "Location?param", a JSON path such as form_values.province.options.QC, or "" for the top-level object
	Problem string
}

func (m mismatch) String() string {
	if m.Path == "" {
		return "(top level): " + m.Problem
	}
	return m.Path + ": " + m.Problem
}

// loadScenarios returns the scenario directories and their exchanges, in name order.
func loadScenarios(t *testing.T) map[string][]*exchange {
	t.Helper()
	dirs, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*exchange{}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(goldenDir, d.Name(), "*"+goldenExt))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(files)
		for _, f := range files {
			out[d.Name()] = append(out[d.Name()], loadExchange(t, f))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no scenarios under %s", goldenDir)
	}
	return out
}

func loadExchange(t *testing.T, file string) *exchange {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := parseExchange(file, string(raw))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ex
}

// parseExchange reads the format of testdata/golden/README.md.
func parseExchange(file, text string) (*exchange, error) {
	if strings.Contains(text, "\r") {
		return nil, errors.New("carriage returns are not allowed: line ends are \\n")
	}
	if strings.Count(text, responseMarker) != 1 {
		return nil, fmt.Errorf("want exactly one %q line", strings.TrimSpace(responseMarker))
	}
	request, response, _ := strings.Cut(text, responseMarker)
	ex := &exchange{file: file}

	// The request: comments, request line, headers and @page steps, a blank line, the body.
	for strings.HasPrefix(request, "#") {
		_, request, _ = strings.Cut(request, "\n")
	}
	head, body, _ := strings.Cut(request, "\n\n")
	ex.body = body
	lines := strings.Split(head, "\n")
	method, target, ok := strings.Cut(lines[0], " ")
	if !ok || method == "" || !strings.HasPrefix(target, "/") || strings.Contains(target, " ") {
		return nil, fmt.Errorf("request line %q is not METHOD /path?query", lines[0])
	}
	ex.method, ex.target = method, target
	for _, l := range lines[1:] {
		if rest, ok := strings.CutPrefix(l, "@page "); ok {
			form, fields, _ := strings.Cut(rest, " ")
			v, err := url.ParseQuery(fields)
			if err != nil {
				return nil, fmt.Errorf("@page %s: %v", form, err)
			}
			ex.pages = append(ex.pages, pageStep{form: form, fields: v})
			continue
		}
		name, value, err := headerLine(l)
		if err != nil {
			return nil, fmt.Errorf("request: %v", err)
		}
		ex.headers = append(ex.headers, [2]string{name, value})
	}

	// The response: status line, headers and @allow-extra lines, a blank line, the body.
	head, body, _ = strings.Cut(response, "\n\n")
	ex.wantBody = strings.TrimSpace(body)
	lines = strings.Split(strings.TrimRight(head, "\n"), "\n")
	status, err := strconv.Atoi(lines[0])
	if err != nil || status < 100 || status > 599 {
		return nil, fmt.Errorf("response status line %q is not a status code", lines[0])
	}
	ex.status = status
	for _, l := range lines[1:] {
		if rest, ok := strings.CutPrefix(l, "@allow-extra "); ok {
			path, why, _ := strings.Cut(rest, " ")
			if strings.TrimSpace(why) == "" {
				return nil, fmt.Errorf("@allow-extra %s: say why it may be there", path)
			}
			ex.allowExtra = append(ex.allowExtra, path)
			continue
		}
		name, value, err := headerLine(l)
		if err != nil {
			return nil, fmt.Errorf("response: %v", err)
		}
		ex.wantHeaders = append(ex.wantHeaders, [2]string{name, value})
	}
	if ex.wantBody != "" {
		if _, err := parseOrdered([]byte(ex.wantBody)); err != nil {
			return nil, fmt.Errorf("expected body: %v", err)
		}
	}
	return ex, nil
}

func headerLine(l string) (name, value string, err error) {
	name, value, ok := strings.Cut(l, ": ")
	if !ok || name == "" || strings.ContainsAny(name, " \t") {
		return "", "", fmt.Errorf("line %q is not a header (Name: value)", l)
	}
	return name, value, nil
}

// placeholder is {{name}} (a remembered value), {{name:kind}} (a value of
// that kind, remembered as name) or {{:kind}} (a value of that kind).
var placeholder = regexp.MustCompile(`\{\{([A-Za-z0-9_]*)(?::([a-z_]+))?\}\}`)

// expand fills a request template's {{name}} placeholders from vars.
func expand(tmpl string, vars map[string]string) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(tmpl, func(p string) string {
		m := placeholder.FindStringSubmatch(p)
		if m[2] != "" || m[1] == "" {
			err = fmt.Errorf("%s: a request may only use remembered values ({{name}})", p)
			return p
		}
		v, ok := vars[m[1]]
		if !ok {
			err = fmt.Errorf("%s: no earlier step remembered %s", p, m[1])
		}
		return v
	})
	return out, err
}

// matchTemplate matches got against a template of literal text and
// placeholders. On a match it returns the values the template names, to
// be remembered; otherwise the reason it does not match.
func matchTemplate(tmpl, got string, vars map[string]string) (map[string]string, string) {
	if !strings.Contains(tmpl, "{{") {
		if got != tmpl {
			return nil, fmt.Sprintf("got %q, want %q", got, tmpl)
		}
		return nil, ""
	}
	var re strings.Builder
	var names []string
	re.WriteString("^")
	last := 0
	for _, loc := range placeholder.FindAllStringSubmatchIndex(tmpl, -1) {
		re.WriteString(regexp.QuoteMeta(tmpl[last:loc[0]]))
		last = loc[1]
		name, kind := tmpl[loc[2]:loc[3]], ""
		if loc[4] >= 0 {
			kind = tmpl[loc[4]:loc[5]]
		}
		if kind == "" {
			v, ok := vars[name]
			if !ok {
				return nil, fmt.Sprintf("the golden file uses {{%s}}, which no earlier step remembered", name)
			}
			re.WriteString(regexp.QuoteMeta(v))
			continue
		}
		k, ok := maskKinds[kind]
		if !ok {
			return nil, fmt.Sprintf("the golden file names an unknown mask kind %q", kind)
		}
		re.WriteString("(" + k.pattern + ")")
		names = append(names, name)
	}
	re.WriteString(regexp.QuoteMeta(tmpl[last:]))
	re.WriteString("$")
	m := regexp.MustCompile(re.String()).FindStringSubmatch(got)
	if m == nil {
		return nil, fmt.Sprintf("got %q, which does not match %q", got, tmpl)
	}
	bind := map[string]string{}
	for i, n := range names {
		if n != "" {
			bind[n] = m[i+1]
		}
	}
	return bind, ""
}

// jnode is a JSON value that keeps its object keys in the order sent
// (and any key sent twice); numbers keep their literal text.
type jnode struct {
	kind byte     // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys []string // object keys, in order
	vals []*jnode // object values (parallel to keys) or array elements
	text string   // a string's value, a number's literal, "true" or "false"
}

func (n *jnode) describe() string {
	switch n.kind {
	case 'o':
		return "an object"
	case 'a':
		return "an array"
	case 's':
		return strconv.Quote(n.text)
	case 'z':
		return "null"
	}
	return n.text
}

// parseOrdered decodes one JSON value, keeping key order; anything after it
// but white space is an error.
func parseOrdered(raw []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	n, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return n, nil
}

func parseValue(dec *json.Decoder) (*jnode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := &jnode{kind: 'a'}
		if v == '{' {
			n.kind = 'o'
		}
		for dec.More() {
			if n.kind == 'o' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			child, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, child)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		return &jnode{kind: 's', text: v}, nil
	case json.Number:
		return &jnode{kind: 'n', text: v.String()}, nil
	case bool:
		return &jnode{kind: 'b', text: strconv.FormatBool(v)}, nil
	case nil:
		return &jnode{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// encode writes n back as compact JSON, keys in order.
func (n *jnode) encode(b *bytes.Buffer) {
	switch n.kind {
	case 'o', 'a':
		open, close := byte('['), byte(']')
		if n.kind == 'o' {
			open, close = '{', '}'
		}
		b.WriteByte(open)
		for i, v := range n.vals {
			if i > 0 {
				b.WriteByte(',')
			}
			if n.kind == 'o' {
				k, _ := json.Marshal(n.keys[i])
				b.Write(k)
				b.WriteByte(':')
			}
			v.encode(b)
		}
		b.WriteByte(close)
	case 's':
		s, _ := json.Marshal(n.text)
		b.Write(s)
	case 'z':
		b.WriteString("null")
	default:
		b.WriteString(n.text)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// compareJSON compares got with the template want: same kinds, same
// values (masked strings match their pattern), objects with the same keys
// in the same order, nothing missing and nothing extra except at the paths
// of allowExtra. Masked values that match are remembered in vars.
func compareJSON(want, got *jnode, allowExtra []string, vars map[string]string) []mismatch {
	var out []mismatch
	var walk func(path string, w, g *jnode)
	walk = func(path string, w, g *jnode) {
		if w.kind != g.kind {
			out = append(out, mismatch{path, fmt.Sprintf("got %s, want %s", g.describe(), w.describe())})
			return
		}
		switch w.kind {
		case 's':
			bind, problem := matchTemplate(w.text, g.text, vars)
			if problem != "" {
				out = append(out, mismatch{path, problem})
			}
			maps.Copy(vars, bind)
		case 'n', 'b':
			if w.text != g.text {
				out = append(out, mismatch{path, fmt.Sprintf("got %s, want %s", g.text, w.text)})
			}
		case 'a':
			if len(w.vals) != len(g.vals) {
				out = append(out, mismatch{path, fmt.Sprintf("got %d elements, want %d", len(g.vals), len(w.vals))})
				return
			}
			for i := range w.vals {
				walk(fmt.Sprintf("%s[%d]", path, i), w.vals[i], g.vals[i])
			}
		case 'o':
			var gotOrder, wantOrder []string // the keys both have, in each one's order
			seen := map[string]bool{}
			for _, k := range g.keys {
				switch {
				case seen[k]:
					out = append(out, mismatch{join(path, k), "the key is sent twice"})
				case slices.Contains(w.keys, k):
					gotOrder = append(gotOrder, k)
				case !slices.Contains(allowExtra, join(path, k)):
					out = append(out, mismatch{join(path, k), "unexpected key"})
				}
				seen[k] = true
			}
			for _, k := range w.keys {
				if seen[k] {
					wantOrder = append(wantOrder, k)
				} else {
					out = append(out, mismatch{join(path, k), "missing"})
				}
			}
			if !slices.Equal(gotOrder, wantOrder) {
				out = append(out, mismatch{path, fmt.Sprintf("keys in the order %s, want %s", strings.Join(gotOrder, ", "), strings.Join(wantOrder, ", "))})
			}
			for i, k := range w.keys {
				if j := slices.Index(g.keys, k); j >= 0 {
					walk(join(path, k), w.vals[i], g.vals[j])
				}
			}
		}
	}
	walk("", want, got)
	return out
}

// compareLocation compares a redirect's URL with a template: the same
// URL before the query, and the same query parameters with matching
// values. The order of query parameters is not compared: a redirect's
// receiver reads them by name. A parameter not in the template is extra
// unless allowExtra lists "Location?name".
func compareLocation(tmpl, got string, allowExtra []string, vars map[string]string) []mismatch {
	wantBase, wantQuery, _ := strings.Cut(tmpl, "?")
	gotBase, gotQuery, _ := strings.Cut(got, "?")
	var out []mismatch
	bind := map[string]string{}
	b, problem := matchTemplate(wantBase, gotBase, vars)
	if problem != "" {
		out = append(out, mismatch{"Location", problem})
	}
	maps.Copy(bind, b)
	params := func(q string) ([][2]string, error) {
		var kv [][2]string
		for p := range strings.SplitSeq(q, "&") {
			if p == "" {
				continue
			}
			k, v, _ := strings.Cut(p, "=")
			var err1, err2 error
			k, err1 = url.QueryUnescape(k)
			v, err2 = url.QueryUnescape(v)
			if err := errors.Join(err1, err2); err != nil {
				return nil, err
			}
			kv = append(kv, [2]string{k, v})
		}
		return kv, nil
	}
	wantKV, err := params(wantQuery)
	if err != nil {
		return append(out, mismatch{"Location", "the golden file's query: " + err.Error()})
	}
	gotKV, err := params(gotQuery)
	if err != nil {
		return append(out, mismatch{"Location", fmt.Sprintf("%q: %v", got, err)})
	}
	for _, w := range wantKV {
		var vals []string
		for _, g := range gotKV {
			if g[0] == w[0] {
				vals = append(vals, g[1])
			}
		}
		path := "Location?" + w[0]
		if len(vals) != 1 {
			out = append(out, mismatch{path, fmt.Sprintf("sent %d times in %q, want once", len(vals), got)})
			continue
		}
		b, problem := matchTemplate(w[1], vals[0], vars)
		if problem != "" {
			out = append(out, mismatch{path, problem})
		}
		maps.Copy(bind, b)
	}
	for _, g := range gotKV {
		path := "Location?" + g[0]
		if !slices.ContainsFunc(wantKV, func(w [2]string) bool { return w[0] == g[0] }) && !slices.Contains(allowExtra, path) {
			out = append(out, mismatch{path, fmt.Sprintf("unexpected parameter (= %q)", g[1])})
		}
	}
	maps.Copy(vars, bind)
	return out
}

// compareResponse compares an answer with ex's expected one and remembers
// the masked values it names.
func compareResponse(ex *exchange, status int, h http.Header, body []byte, vars map[string]string) []mismatch {
	var out []mismatch
	if status != ex.status {
		out = append(out, mismatch{"status", fmt.Sprintf("got %d, want %d (body %s)", status, ex.status, bytes.TrimSpace(body))})
	}
	for _, wh := range ex.wantHeaders {
		vals := h.Values(wh[0])
		path := "header " + wh[0]
		switch {
		case len(vals) == 0:
			out = append(out, mismatch{path, "missing"})
		case len(vals) > 1:
			out = append(out, mismatch{path, fmt.Sprintf("sent %d times: %q", len(vals), vals)})
		case http.CanonicalHeaderKey(wh[0]) == "Location":
			out = append(out, compareLocation(wh[1], vals[0], ex.allowExtra, vars)...)
		default:
			bind, problem := matchTemplate(wh[1], vals[0], vars)
			if problem != "" {
				out = append(out, mismatch{path, problem})
			}
			maps.Copy(vars, bind)
		}
	}
	if ex.wantBody == "" {
		return out
	}
	want, err := parseOrdered([]byte(ex.wantBody))
	if err != nil {
		return append(out, mismatch{"body", "the golden file's body: " + err.Error()})
	}
	got, err := parseOrdered(body)
	if err != nil {
		return append(out, mismatch{"body", fmt.Sprintf("not one JSON value (%v): %q", err, body)})
	}
	return append(out, compareJSON(want, got, ex.allowExtra, vars)...)
}

// buildRequest makes ex's request to base, its placeholders filled in;
// headers are sent with the names as written.
func buildRequest(base string, ex *exchange, vars map[string]string) (*http.Request, error) {
	target, err := expand(ex.target, vars)
	if err != nil {
		return nil, err
	}
	body, err := expand(ex.body, vars)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(ex.method, base+target, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	for _, h := range ex.headers {
		v, err := expand(h[1], vars)
		if err != nil {
			return nil, err
		}
		req.Header[h[0]] = append(req.Header[h[0]], v) // not canonicalized: sent as the file spells it
	}
	return req, nil
}

// replay sends ex's request to the server at base (through the pages it
// lists, as a browser would) and returns how the final answer differs from
// the stored one. vars holds the remembered values: read for the
// request's placeholders, written with the answer's masked values.
func replay(t *testing.T, base string, ex *exchange, vars map[string]string) []mismatch {
	t.Helper()
	req, err := buildRequest(base, ex, vars)
	if err != nil {
		return []mismatch{{"request", err.Error()}}
	}
	a := webtest.NewAgent(t) // keeps cookies, stops at redirects
	status, h, body := a.Do(req)
	for i, p := range ex.pages {
		if status != http.StatusOK || !strings.Contains(body, `<form id="`+p.form+`"`) {
			return []mismatch{{fmt.Sprintf("page %d", i+1), fmt.Sprintf("want the %s form, got %d %s:\n%s", p.form, status, h.Get("Location"), body)}}
		}
		status, h, body = a.Submit(base, body, p.fields)
	}
	return compareResponse(ex, status, h, []byte(body), vars)
}

// replayScenario replays a scenario's exchanges in order against one server.
func replayScenario(t *testing.T, base string, exchanges []*exchange) {
	vars := map[string]string{"base": base}
	for _, ex := range exchanges {
		t.Run(strings.TrimSuffix(filepath.Base(ex.file), goldenExt), func(t *testing.T) {
			for _, m := range replay(t, base, ex, vars) {
				t.Errorf("%s: %s", ex.file, m)
			}
		})
	}
}
