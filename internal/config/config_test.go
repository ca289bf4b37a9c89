package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func flags(args ...string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("addr", "", "")
	fs.String("db", "", "")
	fs.Bool("demo", false, "")
	fs.StringSlice("dialects", nil, "")
	if err := fs.Parse(args); err != nil {
		panic(err)
	}
	return fs
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "latchkey.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "addr: 127.0.0.1:1111\ndb: sqlite:file.db\nissuer: https://file.example\ndialects: [aston]\n")
	c, err := Load(file, env(map[string]string{"LATCHKEY_DB": "sqlite:env.db", "LATCHKEY_ADDR": "127.0.0.1:2222"}),
		flags("--addr", "127.0.0.1:3333"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:3333" || c.DB != "sqlite:env.db" || c.Issuer != "https://file.example" || c.LogLevel != "info" {
		t.Fatalf("flag > env > file > default broken: %+v", c)
	}
	if len(c.Dialects) != 1 || c.Dialects[0] != "aston" {
		t.Fatalf("dialects from file: %v", c.Dialects)
	}
	c, err = Load("", env(map[string]string{"LATCHKEY_CONFIG": file, "LATCHKEY_DIALECTS": "paytronix,flexiti"}), flags("--demo"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:1111" || !c.Demo || strings.Join(c.Dialects, ",") != "paytronix,flexiti" {
		t.Fatalf("LATCHKEY_CONFIG, bool flag or env list: %+v", c)
	}
}

func TestErrorsNameTheProblem(t *testing.T) {
	cases := []struct {
		file string
		env  map[string]string
		want string
	}{
		{file: "addr: [unclosed", want: "config file"},
		{file: "adress: x\n", want: "adress"},
		{env: map[string]string{"LATCHKEY_DB": "mysql://x"}, want: `db "mysql://x" is not supported`},
		{env: map[string]string{"LATCHKEY_DB": "postgres://u:hunter2@/x"}, want: "not a valid postgres"},
		{env: map[string]string{"LATCHKEY_ADDR": "nope"}, want: "addr"},
		{env: map[string]string{"LATCHKEY_DEMO": "maybe"}, want: "LATCHKEY_DEMO"},
		{env: map[string]string{"LATCHKEY_ISSUER": "ftp://x"}, want: "issuer"},
		{env: map[string]string{"LATCHKEY_DIALECTS": "acme"}, want: `dialect "acme"`},
		{env: map[string]string{"LATCHKEY_LOG_LEVEL": "loud"}, want: "log-level"},
	}
	for _, tc := range cases {
		path := ""
		if tc.file != "" {
			path = writeFile(t, tc.file)
		}
		_, err := Load(path, env(tc.env), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("file %q env %v: err = %v, want it to mention %q", tc.file, tc.env, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "\n")) {
			t.Errorf("error leaks a password or spans lines: %q", err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), env(nil), nil); err == nil {
		t.Error("missing config file accepted")
	}
}

func TestSystemSecretFile(t *testing.T) {
	c := Defaults()
	c.SecretFile = filepath.Join(t.TempDir(), "secret")
	if _, _, err := c.SystemSecret(false); err == nil {
		t.Fatal("missing secret file accepted without create")
	}
	s1, created, err := c.SystemSecret(true)
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	if st, _ := os.Stat(c.SecretFile); st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v", st.Mode().Perm())
	}
	s2, created, err := c.SystemSecret(true)
	if err != nil || created || string(s1) != string(s2) {
		t.Fatalf("second read: created=%v err=%v equal=%v", created, err, string(s1) == string(s2))
	}
	c.Secret = "too short"
	if _, _, err := c.SystemSecret(true); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestIssuerURL(t *testing.T) {
	c := Defaults()
	c.Addr = "0.0.0.0:8080"
	if got := c.IssuerURL(); got != "http://localhost:8080" {
		t.Fatalf("IssuerURL = %q", got)
	}
	c.Issuer = "https://auth.example/"
	if got := c.IssuerURL(); got != "https://auth.example" {
		t.Fatalf("IssuerURL = %q", got)
	}
}

func TestAuditRetention(t *testing.T) {
	if got := Defaults().AuditRetentionDuration(); got != 90*24*time.Hour {
		t.Fatalf("default audit retention %v, want 90 days", got)
	}
	for in, want := range map[string]time.Duration{"0": 0, "": 0, "7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour} {
		if got, err := ParseRetention(in); err != nil || got != want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1h", "xd", "-3d", "forever"} {
		if _, err := ParseRetention(in); err == nil {
			t.Errorf("ParseRetention(%q) accepted", in)
		}
	}
	c, err := Load("", env(map[string]string{"LATCHKEY_AUDIT_RETENTION": "30d"}), nil)
	if err != nil || c.AuditRetentionDuration() != 30*24*time.Hour {
		t.Fatalf("from the environment: %v, %v", c.AuditRetentionDuration(), err)
	}
	if _, err := Load("", env(map[string]string{"LATCHKEY_AUDIT_RETENTION": "soon"}), nil); err == nil {
		t.Fatal("a bad audit retention was accepted")
	}
}
