package oauth

import (
	"encoding/base64"
	"testing"
)

func BenchmarkDecodeForm(b *testing.B) {
	body := []byte("grant_type=password&username=johndoe&password=open456&scope=user_read+user_write+account_read+account_write")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeForm(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"authentication":"anonymous","client_id":"3FTmkQuXBnotarealcklientIDFCO9PREEnj_WHaK","client_secret":"654secretnx4",
"merchantId":777777,"grant_type":"password","scope":"user_read user_write account_read account_write","username":"johndoe","password":"open456"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseBasic(b *testing.B) {
	h := "Basic " + base64.StdEncoding.EncodeToString([]byte("flexitidemo:77xde15a-9d33-4c15-930a-3se4b3as33e9"))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseBasic(h); err != nil {
			b.Fatal(err)
		}
	}
}
