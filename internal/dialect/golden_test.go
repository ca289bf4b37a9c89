package dialect_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestGolden replays every stored exchange (testdata/golden: each seed's
// request/response examples and the dialects' contract error cases)
// against the real demo server, one server per scenario, and compares each
// answer with the stored one.
func TestGolden(t *testing.T) {
	scenarios := loadScenarios(t)
	for _, name := range slices.Sorted(maps.Keys(scenarios)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			replayScenario(t, newDemo(t), scenarios[name])
		})
	}
}

// TestGoldenReplayFailsOnAChangedField changes one value of a stored
// response, a top-level one and one deep in the Flexiti form values, and
// replays against the real server: the replay reports that field and
// nothing else.
func TestGoldenReplayFailsOnAChangedField(t *testing.T) {
	base := newDemo(t)
	dir := filepath.Join(goldenDir, "flexiti-002-token-and-merchant-login")
	token := readGolden(t, filepath.Join(dir, "01-token-client-credentials.golden"))
	login := readGolden(t, filepath.Join(dir, "02-merchant-login.golden"))
	for _, tc := range []struct {
		file, text, from, to, path string
	}{
		{"token", token, `"expires_in": 1200,`, `"expires_in": 1201,`, "expires_in"},
		{"token", token, `"scope": "merchant"`, `"scope": "customer"`, "scope"},
		{"merchant login", login, `"QC": "Quebec",`, `"QC": "Québec",`, "form_values.province.options.QC"},
		{"merchant login", login, `"merchant_id": "123456",`, `"merchant_id": 123456,`, "merchant_id"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			vars := map[string]string{"base": base}
			if tc.file == "merchant login" {
				ex := mustParse(t, "token", token)
				if got := replay(t, base, ex, vars); len(got) != 0 {
					t.Fatalf("the unchanged token exchange: %v", got)
				}
			}
			changed := strings.Replace(tc.text, tc.from, tc.to, 1)
			if changed == tc.text {
				t.Fatalf("%q is not in the %s golden file", tc.from, tc.file)
			}
			got := replay(t, base, mustParse(t, tc.file, changed), vars)
			if len(got) != 1 || got[0].Path != tc.path {
				t.Fatalf("with %s changed the replay reported %v, want exactly %s", tc.path, got, tc.path)
			}
			t.Logf("reported: %s", got[0])
		})
	}
}

// TestGoldenCompareReportsExactlyTheChangedField checks the comparison on
// every stored JSON body: an answer made from the body (masked values
// replaced by values of their kind) passes; changing any one value, leaving
// out any one key, adding a key to any object or swapping two neighbouring
// keys fails with exactly one report, naming that field (the object, for
// an order change).
func TestGoldenCompareReportsExactlyTheChangedField(t *testing.T) {
	checked := 0
	for name, exchanges := range loadScenarios(t) {
		for _, ex := range exchanges {
			if ex.wantBody == "" {
				continue
			}
			t.Run(name+"/"+filepath.Base(ex.file), func(t *testing.T) {
				want, _ := parseOrdered([]byte(ex.wantBody))
				vars := map[string]string{}
				answer := conforming(want, vars)
				check := func(what string, got *jnode, wantPath, wantProblem string) {
					t.Helper()
					var b bytes.Buffer
					got.encode(&b)
					reparsed, err := parseOrdered(b.Bytes()) // through the wire form, as a real answer comes
					if err != nil {
						t.Fatal(err)
					}
					ms := compareJSON(want, reparsed, ex.allowExtra, maps.Clone(vars))
					switch {
					case wantPath == "-" && len(ms) != 0:
						t.Errorf("%s: reported %v, want nothing", what, ms)
					case wantPath != "-" && (len(ms) != 1 || ms[0].Path != wantPath || !strings.Contains(ms[0].Problem, wantProblem)):
						t.Errorf("%s: reported %v, want exactly one report for %q (%s)", what, ms, wantPath, wantProblem)
					}
					checked++
				}
				check("the answer as stored", answer, "-", "")
				for _, p := range paths(answer, "") {
					if p.node.kind != 'o' && p.node.kind != 'a' {
						changed := answer.clone()
						leaf := changed.at(p.path)
						switch leaf.kind {
						case 's':
							if placeholderIn(want, p.path) {
								leaf.text = "" // no mask kind matches an empty string
							} else {
								leaf.text += "x"
							}
						case 'n':
							leaf.text += "1"
						case 'b':
							leaf.text = map[string]string{"true": "false", "false": "true"}[leaf.text]
						case 'z':
							leaf.kind, leaf.text = 'n', "0"
						}
						check("changed "+p.path, changed, p.path, "")
						continue
					}
					if p.node.kind != 'o' {
						continue
					}
					for i, k := range p.node.keys {
						dropped := answer.clone()
						obj := dropped.at(p.path)
						obj.keys, obj.vals = slices.Delete(obj.keys, i, i+1), slices.Delete(obj.vals, i, i+1)
						check("without "+join(p.path, k), dropped, join(p.path, k), "missing")
						if i+1 < len(p.node.keys) {
							swapped := answer.clone()
							obj := swapped.at(p.path)
							obj.keys[i], obj.keys[i+1] = obj.keys[i+1], obj.keys[i]
							obj.vals[i], obj.vals[i+1] = obj.vals[i+1], obj.vals[i]
							check("swapped "+k+" and "+p.node.keys[i+1], swapped, p.path, "order")
						}
					}
					added := answer.clone()
					obj := added.at(p.path)
					obj.keys, obj.vals = append(obj.keys, "unlisted"), append(obj.vals, &jnode{kind: 'n', text: "1"})
					check("with "+join(p.path, "unlisted"), added, join(p.path, "unlisted"), "unexpected key")
				}
				for _, allowed := range ex.allowExtra {
					parent, key, ok := cutLast(allowed)
					if !ok || strings.HasPrefix(allowed, "Location?") {
						continue
					}
					added := answer.clone()
					obj := added.at(parent)
					obj.keys, obj.vals = append(obj.keys, key), append(obj.vals, &jnode{kind: 'o'})
					check("with the allowed "+allowed, added, "-", "")
				}
			})
		}
	}
	if checked < 500 {
		t.Fatalf("only %d comparisons ran; the golden files were not all read", checked)
	}
}

// TestGoldenCompareLocation: a redirect matches by URL and parameters,
// in any order; a missing, changed, repeated or unlisted parameter fails,
// and a masked one must match its kind.
func TestGoldenCompareLocation(t *testing.T) {
	code := maskKinds["lk_ac"].sample
	tmpl := "https://youwebapp.com/oauth?grant_type=authorization_code&code={{code:lk_ac}}&state=xyz"
	for _, tc := range []struct {
		got, allow, path string // path "" for a match
	}{
		{"https://youwebapp.com/oauth?grant_type=authorization_code&code=" + code + "&state=xyz", "", ""},
		{"https://youwebapp.com/oauth?code=" + code + "&grant_type=authorization_code&iss=http%3A%2F%2Fx&state=xyz", "Location?iss", ""},
		{"https://youwebapp.com/oauth?code=" + code + "&grant_type=authorization_code&iss=http%3A%2F%2Fx&state=xyz", "", "Location?iss"},
		{"https://youwebapp.com/oauth?grant_type=authorization_code&code=" + code + "&state=xy", "", "Location?state"},
		{"https://youwebapp.com/oauth?grant_type=authorization_code&code=abcd1234&state=xyz", "", "Location?code"},
		{"https://youwebapp.com/oauth?grant_type=authorization_code&state=xyz", "", "Location?code"},
		{"https://youwebapp.com/oauth?grant_type=authorization_code&code=" + code + "&state=xyz&state=xyz", "", "Location?state"},
		{"https://youwebapp.com/oauth2?grant_type=authorization_code&code=" + code + "&state=xyz", "", "Location"},
	} {
		vars := map[string]string{}
		got := compareLocation(tmpl, tc.got, []string{tc.allow}, vars)
		switch {
		case tc.path == "" && (len(got) != 0 || vars["code"] != code):
			t.Errorf("%s: %v (code remembered: %q)", tc.got, got, vars["code"])
		case tc.path != "" && (len(got) != 1 || got[0].Path != tc.path):
			t.Errorf("%s: %v, want one report for %s", tc.got, got, tc.path)
		}
	}
}

// TestGoldenFormat pins the file format: the request body is byte for byte
// what lies between the blank line and the response marker, headers keep
// their spelling, and placeholders are refused in a request unless an
// earlier step remembered them.
func TestGoldenFormat(t *testing.T) {
	ex := mustParse(t, "format", "# a comment\nPOST /x?a=b%20c\nx-reference-id: r\n\n{\n  \"a\": 1 }\n\n=== response\n200\nA: b\n@allow-extra k why\n\n{\"a\": 1}\n")
	if ex.method != "POST" || ex.target != "/x?a=b%20c" || ex.body != "{\n  \"a\": 1 }\n" ||
		!slices.Equal(ex.headers, [][2]string{{"x-reference-id", "r"}}) || ex.status != 200 ||
		!slices.Equal(ex.wantHeaders, [][2]string{{"A", "b"}}) || !slices.Equal(ex.allowExtra, []string{"k"}) || ex.wantBody != `{"a": 1}` {
		t.Fatalf("parsed %+v", ex)
	}
	req, err := buildRequest("http://h", ex, nil)
	if err != nil || req.Header["x-reference-id"][0] != "r" || req.Header.Get("Content-Type") != "" || req.ContentLength != int64(len(ex.body)) {
		t.Fatalf("request %v %v", req, err)
	}
	if _, err := buildRequest("http://h", mustParse(t, "unbound", "POST /x\n\n{{code}}\n=== response\n200\n"), map[string]string{}); err == nil {
		t.Fatal("a request used {{code}} although nothing remembered it")
	}
	for _, bad := range []string{"POST /x\n\n{}\n", "POST /x\r\n\r\n{}\n=== response\n200\n", "POST x\n=== response\n200\n", "POST /x\n=== response\nOK\n", "POST /x\nbad header\n=== response\n200\n", "POST /x\n=== response\n200\n@allow-extra k\n"} {
		if _, err := parseExchange("bad", bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	for name, k := range maskKinds {
		if !regexp.MustCompile("^(?:" + k.pattern + ")$").MatchString(k.sample) {
			t.Errorf("mask kind %s: its sample %q does not match %s", name, k.sample, k.pattern)
		}
	}
	for _, tc := range []struct{ kind, value string }{
		{"lk_at", maskKinds["lk_rt"].sample}, {"lk_at", maskKinds["lk_at"].sample[:69]}, {"lk_at", maskKinds["lk_at"].sample + "A"},
		{"lk_ac", "abcd1234"}, {"sentence", "the password is wrong."}, {"sentence", "No full stop"}, {"sentence", "Two\nlines."},
		{"text", ""}, {"text", " leading space"}, {"unixdate", "1593561600"},
	} {
		if bind, problem := matchTemplate("{{v:"+tc.kind+"}}", tc.value, nil); problem == "" {
			t.Errorf("%q matched the mask kind %s (%v)", tc.value, tc.kind, bind)
		}
	}
}

func readGolden(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func mustParse(t *testing.T, name, text string) *exchange {
	t.Helper()
	ex, err := parseExchange(name, text)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ex
}

// conforming returns an answer that matches the template want: each
// masked value replaced by its kind's sample (remembered in vars as the
// comparison would), each remembered value by the one in vars.
func conforming(want *jnode, vars map[string]string) *jnode {
	out := want.clone()
	var fill func(n *jnode)
	fill = func(n *jnode) {
		if n.kind == 's' {
			n.text = placeholder.ReplaceAllStringFunc(n.text, func(p string) string {
				m := placeholder.FindStringSubmatch(p)
				if m[2] != "" {
					v := maskKinds[m[2]].sample
					if m[1] != "" {
						vars[m[1]] = v
					}
					return v
				}
				if _, ok := vars[m[1]]; !ok {
					vars[m[1]] = "remembered-" + m[1]
				}
				return vars[m[1]]
			})
		}
		for _, v := range n.vals {
			fill(v)
		}
	}
	fill(out)
	return out
}

func placeholderIn(want *jnode, path string) bool {
	n := want.at(path)
	return n != nil && n.kind == 's' && strings.Contains(n.text, "{{")
}

func (n *jnode) clone() *jnode {
	c := &jnode{kind: n.kind, text: n.text, keys: slices.Clone(n.keys)}
	for _, v := range n.vals {
		c.vals = append(c.vals, v.clone())
	}
	return c
}

// at finds the node at a path as compareJSON names it ("" is the root).
func (n *jnode) at(path string) *jnode {
	if path == "" {
		return n
	}
	for _, p := range paths(n, "") {
		if p.path == path {
			return p.node
		}
	}
	return nil
}

type located struct {
	path string
	node *jnode
}

// paths lists n and every node under it with its path, in document order.
func paths(n *jnode, path string) []located {
	out := []located{{path, n}}
	for i, v := range n.vals {
		p := fmt.Sprintf("%s[%d]", path, i)
		if n.kind == 'o' {
			p = join(path, n.keys[i])
		}
		out = append(out, paths(v, p)...)
	}
	return out
}

// cutLast splits a JSON path into its parent and last key.
func cutLast(path string) (parent, key string, ok bool) {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i], path[i+1:], true
	}
	return "", path, path != ""
}
