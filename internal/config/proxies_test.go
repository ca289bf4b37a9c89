package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestTrustedProxies: the setting comes from the YAML key, the environment
// or the flag, takes CIDRs and single addresses, and a bad entry is named.
func TestTrustedProxies(t *testing.T) {
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("172.16.0.0/12")}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.StringSlice("trusted-proxies", nil, "")
	if err := fs.Parse([]string{"--trusted-proxies", "10.1.2.3/8,192.0.2.7", "--trusted-proxies", "fd00::/8,::ffff:172.16.0.0/108"}); err != nil {
		t.Fatal(err)
	}
	for name, load := range map[string]func() (Config, error){
		"yaml": func() (Config, error) {
			return Load(writeFile(t, "trusted_proxies: [10.1.2.3/8, 192.0.2.7, fd00::/8, \"::ffff:172.16.0.0/108\"]\n"), env(nil), nil)
		},
		"env": func() (Config, error) {
			return Load("", env(map[string]string{"LATCHKEY_TRUSTED_PROXIES": "10.1.2.3/8, 192.0.2.7,fd00::/8,::ffff:172.16.0.0/108"}), nil)
		},
		"flag": func() (Config, error) { return Load("", env(nil), fs) },
	} {
		c, err := load()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := c.TrustedProxyPrefixes()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %v %v, want %v", name, got, err, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8/8"} {
		_, err := Load("", env(map[string]string{"LATCHKEY_TRUSTED_PROXIES": "10.0.0.0/8," + bad}), nil)
		if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) || !strings.Contains(err.Error(), "trusted-proxies") {
			t.Fatalf("%s: error %v does not name the bad entry", bad, err)
		}
	}
}
