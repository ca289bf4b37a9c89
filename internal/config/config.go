// Package config loads latchkey's settings from defaults, an optional YAML
// file, LATCHKEY_* environment variables and command-line flags, in that
// order of increasing precedence.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/internal/dialect"
	"github.com/latchkey-dev/latchkey/internal/secrets"
)

// Config is every setting of a latchkey process.
type Config struct {
	Addr       string   `yaml:"addr"`         // HOST:PORT to listen on
	DB         string   `yaml:"db"`           // sqlite:PATH or postgres://…
	Issuer     string   `yaml:"issuer"`       // public base URL; defaults to http://ADDR
	Demo       bool     `yaml:"demo"`         // load the demo data
	Secret     string   `yaml:"secret"`       // system secret; prefer secret_file or the environment
	SecretFile string   `yaml:"secret_file"`  // file holding the system secret
	LogLevel   string   `yaml:"log_level"`    // debug, info, warn, error
	LogFormat  string   `yaml:"log_format"`   // text or json
	Dialects   []string `yaml:"dialects"`     // vendor dialects to serve
	Product    string   `yaml:"product_name"` // product name on the login pages
	LogoURL    string   `yaml:"logo_url"`     // logo on the login pages
	// TrustedProxies are CIDRs (or addresses) of the proxies whose
	// X-Forwarded-For or Forwarded header names the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// Gateway, when set, runs a gateway beside the server (config file only).
	Gateway *Gateway `yaml:"gateway"`
	// AuditRetention is how long audit events are kept: a Go duration or
	// a number of days ("90d"); "0" keeps them forever.
	AuditRetention string `yaml:"audit_retention"`
	// AuditTokenIssued stores a token.issued audit event with every issue
	// (on by default; off saves about a tenth of the token endpoint's
	// throughput, docs/PERFORMANCE.md).
	AuditTokenIssued bool `yaml:"audit_token_issued"`
	// OTLPEndpoint, when set, exports traces over OTLP/HTTP to this URL
	// (docs/TRACING.md); off by default.
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	// TraceSampleRatio is the share of new traces recorded, 0 to 1.
	TraceSampleRatio string `yaml:"trace_sample_ratio"`
	// TLSCert and TLSKey, both or neither, make serve answer HTTPS with
	// this PEM certificate chain and key, reloaded when the files change.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// AdminAddr, when set, serves the admin API only on this second
	// listener (HOST:PORT), and not on the main one.
	AdminAddr string `yaml:"admin_addr"`
}

// Gateway runs `latchkey gateway` inside `serve`, sharing its database.
type Gateway struct {
	Rules    string `yaml:"rules"`    // rule file
	Upstream string `yaml:"upstream"` // overrides the rule file's upstream
	Addr     string `yaml:"addr"`     // HOST:PORT of the gateway listener
}

// Defaults returns the settings used when nothing else is given.
func Defaults() Config {
	return Config{
		Addr:       "127.0.0.1:8080",
		DB:         "sqlite:latchkey.db",
		SecretFile: "latchkey.secret",
		LogLevel:   "info",
		LogFormat:  "text",

		AuditRetention:   "90d",
		AuditTokenIssued: true,
		TraceSampleRatio: "1",
	}
}

// field binds a setting's flag/env name to its place in Config.
type field struct {
	name string
	ptr  any // *string, *bool or *[]string
}

func (c *Config) fields() []field {
	return []field{
		{"addr", &c.Addr}, {"db", &c.DB}, {"issuer", &c.Issuer}, {"demo", &c.Demo},
		{"secret", &c.Secret}, {"secret-file", &c.SecretFile},
		{"log-level", &c.LogLevel}, {"log-format", &c.LogFormat}, {"dialects", &c.Dialects},
		{"product-name", &c.Product}, {"logo-url", &c.LogoURL}, {"trusted-proxies", &c.TrustedProxies},
		{"audit-retention", &c.AuditRetention}, {"audit-token-issued", &c.AuditTokenIssued},
		{"otlp-endpoint", &c.OTLPEndpoint}, {"trace-sample-ratio", &c.TraceSampleRatio},
		{"tls-cert", &c.TLSCert}, {"tls-key", &c.TLSKey}, {"admin-addr", &c.AdminAddr},
	}
}

// EnvName is the environment variable that sets the named flag.
func EnvName(flag string) string {
	return "LATCHKEY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Load builds the configuration: defaults, then the YAML file at path (or
// $LATCHKEY_CONFIG; none if both are empty), then environment variables,
// then the flags of fs that were set on the command line. fs may be nil.
func Load(path string, getenv func(string) string, fs *pflag.FlagSet) (Config, error) {
	c := Defaults()
	if path == "" {
		path = getenv("LATCHKEY_CONFIG")
	}
	if path != "" {
		if err := c.readFile(path); err != nil {
			return Config{}, err
		}
	}
	for _, f := range c.fields() {
		if v := getenv(EnvName(f.name)); v != "" {
			if err := set(f.ptr, v); err != nil {
				return Config{}, fmt.Errorf("environment variable %s: %w", EnvName(f.name), err)
			}
		}
	}
	if fs != nil {
		for _, f := range c.fields() {
			if fl := fs.Lookup(f.name); fl != nil && fl.Changed {
				if err := set(f.ptr, fl.Value.String()); err != nil {
					return Config{}, fmt.Errorf("flag --%s: %w", f.name, err)
				}
			}
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func (c *Config) readFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = unknownField.ReplaceAllString(m, `unknown setting "$1"`)
			}
			return fmt.Errorf("config file %s: %s", path, strings.Join(msgs, "; "))
		}
		return fmt.Errorf("config file %s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return nil
}

// unknownField rewrites the YAML decoder's message about an unknown key.
var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

func set(ptr any, v string) error {
	switch p := ptr.(type) {
	case *string:
		*p = v
	case *bool:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p = b
	case *[]string:
		// pflag prints string slices as [a,b]; env uses a,b.
		v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
		*p = nil
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				*p = append(*p, s)
			}
		}
	}
	return nil
}

// Validate checks every setting and names the first one that is wrong.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("addr %q is not HOST:PORT", c.Addr)
	}
	if _, err := ParseDB(c.DB); err != nil {
		return err
	}
	if c.Issuer != "" {
		u, err := url.Parse(c.Issuer)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("issuer %q must be an http or https URL without query or fragment", c.Issuer)
		}
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		return fmt.Errorf("log-level %q must be debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log-format %q must be text or json", c.LogFormat)
	}
	if g := c.Gateway; g != nil {
		if g.Rules == "" {
			return fmt.Errorf("gateway needs rules: the path of a rule file")
		}
		if _, _, err := net.SplitHostPort(g.Addr); err != nil {
			return fmt.Errorf("gateway addr %q is not HOST:PORT", g.Addr)
		}
	}
	for _, d := range c.Dialects {
		if err := dialect.Check(d); err != nil {
			return err
		}
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		return err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("tls-cert and tls-key go together: give both (HTTPS) or neither (plain HTTP)")
	}
	if c.AdminAddr != "" {
		if _, _, err := net.SplitHostPort(c.AdminAddr); err != nil {
			return fmt.Errorf("admin-addr %q is not HOST:PORT", c.AdminAddr)
		}
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("otlp-endpoint %q must be an http or https URL such as http://collector:4318", c.OTLPEndpoint)
		}
	}
	if r, err := strconv.ParseFloat(c.TraceSampleRatio, 64); err != nil || !(r >= 0 && r <= 1) { // NaN included
		return fmt.Errorf("trace-sample-ratio %q must be a number from 0 to 1", c.TraceSampleRatio)
	}
	if _, err := ParseRetention(c.AuditRetention); err != nil {
		return fmt.Errorf("audit-retention: %w", err)
	}
	return nil
}

// ParseRetention reads a retention: a Go duration ("720h"), a number of
// days ("90d"), or "0" (or "") to keep forever, which is returned as 0.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days such as 90d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 {
			return 0, fmt.Errorf("%q is not a duration such as 90d or 2160h, or 0 to keep forever", s)
		}
	}
	return d, nil
}

// AuditRetentionDuration is AuditRetention parsed (0: keep forever); the
// configuration was validated.
func (c Config) AuditRetentionDuration() time.Duration {
	d, _ := ParseRetention(c.AuditRetention)
	return d
}

// TraceSampleRatioValue is TraceSampleRatio parsed; the configuration was validated.
func (c Config) TraceSampleRatioValue() float64 {
	r, _ := strconv.ParseFloat(c.TraceSampleRatio, 64)
	return r
}

// TrustedProxyPrefixes parses trusted_proxies: each entry a CIDR, or one
// address standing for itself alone.
func (c Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted-proxies: %q is not a CIDR (such as 10.0.0.0/8 or fd00::/8) or an IP address", s)
			}
			p = netip.PrefixFrom(a.WithZone(""), a.BitLen())
		}
		// A proxy reaching an IPv6 socket from an IPv4 address shows as ::ffff:a.b.c.d; the middleware unmaps it.
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// DB is a parsed database setting.
type DB struct {
	Driver string // "sqlite" or "postgres"
	Path   string // SQLite file
	URL    string // PostgreSQL URL
}

// Source is what the driver opens: the SQLite file or the PostgreSQL URL.
func (d DB) Source() string {
	if d.Driver == "sqlite" {
		return d.Path
	}
	return d.URL
}

// ParseDB reads a --db value: sqlite:PATH or a postgres:// URL.
func ParseDB(dsn string) (DB, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if p == "" {
			return DB{}, fmt.Errorf("db %q names no file: use sqlite:PATH", dsn)
		}
		return DB{Driver: "sqlite", Path: p}, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		u, err := url.Parse(dsn)
		if err != nil || u.Host == "" {
			return DB{}, fmt.Errorf("db %q is not a valid postgres:// URL", redact(dsn))
		}
		return DB{Driver: "postgres", URL: dsn}, nil
	default:
		return DB{}, fmt.Errorf("db %q is not supported: use sqlite:PATH or postgres://USER@HOST:PORT/DB", redact(dsn))
	}
}

// redact hides a password in a DSN so it can appear in an error.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// TLS reports whether serve answers HTTPS (tls-cert and tls-key are set).
func (c Config) TLS() bool { return c.TLSCert != "" }

// Scheme is the scheme serve answers: https with TLS, else http.
func (c Config) Scheme() string {
	if c.TLS() {
		return "https"
	}
	return "http"
}

// IssuerURL is the issuer, or SCHEME://ADDR when none is set.
func (c Config) IssuerURL() string {
	if c.Issuer != "" {
		return strings.TrimRight(c.Issuer, "/")
	}
	host, port, _ := net.SplitHostPort(c.Addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return c.Scheme() + "://" + net.JoinHostPort(host, port)
}

// SystemSecret returns the deployment's system secret: the secret setting if
// given, else the content of secret-file. When create is true and the file
// does not exist, a new secret is written to it (mode 0600) and created is true.
func (c Config) SystemSecret(create bool) (secret []byte, created bool, err error) {
	if c.Secret != "" {
		s, err := secrets.DecodeSystemSecret(c.Secret)
		if err != nil {
			return nil, false, fmt.Errorf("secret: %w", err)
		}
		return s, false, nil
	}
	data, err := os.ReadFile(c.SecretFile)
	if errors.Is(err, os.ErrNotExist) && create {
		s := secrets.NewSystemSecret()
		f, err := os.OpenFile(c.SecretFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("create secret file: %w", err)
		}
		if _, err := f.WriteString(s + "\n"); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("write secret file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, false, fmt.Errorf("write secret file: %w", err)
		}
		b, err := secrets.DecodeSystemSecret(s)
		return b, true, err
	}
	if err != nil {
		return nil, false, fmt.Errorf("read secret file (set LATCHKEY_SECRET or --secret-file): %w", err)
	}
	s, err := secrets.DecodeSystemSecret(string(data))
	if err != nil {
		return nil, false, fmt.Errorf("secret file %s: %w", c.SecretFile, err)
	}
	return s, false, nil
}
