package oauth

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func FuzzDecodeForm(f *testing.F) {
	for _, s := range []string{"grant_type=password&username=a&password=b", "a=%zz", "a=1&a=2", "=&&=", "scope=" + strings.Repeat("x", 5000)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeForm(body)
		if err == nil {
			for k, v := range p {
				if len(v) > maxParamLen {
					t.Fatalf("parameter %q longer than the limit accepted", k)
				}
			}
		} else if err.Code != ErrInvalidRequest {
			t.Fatalf("error code %q", err.Code)
		}
	})
}

// FuzzDecodeFormMatchesParseQuery checks the hand-written form decoder
// against net/url: the same parameters, and an error wherever url.ParseQuery
// fails or a name repeats.
func FuzzDecodeFormMatchesParseQuery(f *testing.F) {
	for _, s := range []string{"grant_type=password&username=a+b&password=%C3%A9", "a=%zz", "%zz=1", "a=1&a=2", "a&a=",
		"=&&=", "a=1;b=2", "a", "&&a=b&&", "a=b=c", "scope=x+y%20z", "a=%00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := DecodeForm([]byte(body))
		want, werr := url.ParseQuery(body)
		repeated := false
		for _, vs := range want {
			repeated = repeated || len(vs) > 1
		}
		if werr != nil || repeated {
			if err == nil {
				t.Fatalf("%q: accepted %v; url.ParseQuery: %v, %v", body, got, want, werr)
			}
			return
		}
		if err != nil {
			if paramsOf(want).check() != nil {
				return // refused for length or text, which url does not check
			}
			t.Fatalf("%q: refused (%s) what url.ParseQuery accepts: %v", body, err.Description, want)
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %v, url.ParseQuery: %v", body, got, want)
		}
		for k, vs := range want {
			if got[k] != vs[0] {
				t.Fatalf("%q: %q=%q, url.ParseQuery: %q", body, k, got[k], vs[0])
			}
		}
	})
}

func paramsOf(v url.Values) Params {
	p := Params{}
	for k, vs := range v {
		p[k] = vs[0]
	}
	return p
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"grant_type":"password","merchantId":777777}`, `{"a":{"b":1}}`, `{"a":1,"a":2}`, `[1]`, `{"a":null}`, `{}{}`, `{"a":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodeJSON(body)
		if err != nil && err.Code != ErrInvalidRequest {
			t.Fatalf("error code %q", err.Code)
		}
		if err == nil && p == nil {
			t.Fatal("nil params without error")
		}
	})
}

func FuzzClientCredentials(f *testing.F) {
	f.Add("Basic Y29uZjpzZWNyZXQ=", "client_id=conf")
	f.Add("Basic Og==", "")
	f.Add("Bearer x", "client_secret=s")
	f.Add("basic !!!", "client_id=a%20b&client_secret=c")
	f.Fuzz(func(t *testing.T, header, form string) {
		p, perr := DecodeForm([]byte(form))
		if perr != nil {
			return
		}
		r := httptest.NewRequest("POST", "/oauth2/token", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		cr, err := ReadClientCredentials(r, p, ReadOptions{})
		if err == nil && cr.ID == "" && cr.Method != AuthNone {
			t.Fatalf("credentials without a client id: %+v", cr)
		}
		if err == nil && cr.Method == AuthBasic && p.Get("client_secret") != "" {
			t.Fatal("two authentication methods accepted")
		}
	})
}
