package oauth

import (
	"net/http/httptest"
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
		cr, err := ReadClientCredentials(r, p)
		if err == nil && cr.ID == "" && cr.Method != AuthNone {
			t.Fatalf("credentials without a client id: %+v", cr)
		}
		if err == nil && cr.Method == AuthBasic && p.Get("client_secret") != "" {
			t.Fatal("two authentication methods accepted")
		}
	})
}
