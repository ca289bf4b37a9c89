package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/bearer"
	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/gateway"
	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/reqid"
	"github.com/latchkey-dev/latchkey/internal/server"
)

func newGatewayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run a reverse proxy that checks latchkey tokens in front of an API",
		Long: `Runs a reverse proxy in front of a platform API. Each rule of the rule file names
a route (a Go ServeMux pattern), the scopes it needs and the path parameters that
must match the token; requests that pass are forwarded with the token's identity
in X-Latchkey-* headers, others are refused in the rule file's dialect. Tokens
are checked in latchkey's database (--db), or through its introspection endpoint
when the rule file or --introspect-url names one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			path, _ := f.GetString("rules")
			rules, err := gateway.LoadRules(path)
			if err != nil {
				return err
			}
			if u, _ := f.GetString("upstream"); u != "" {
				rules.Upstream = u
			}
			if u, _ := f.GetString("introspect-url"); u != "" {
				id, _ := f.GetString("client-id")
				rules.Introspection = &gateway.Introspection{URL: u, ClientID: id, ClientSecret: os.Getenv("LATCHKEY_GATEWAY_CLIENT_SECRET")}
			}
			upstream, err := url.Parse(rules.Upstream)
			if err != nil || upstream.Host == "" {
				return fmt.Errorf("no upstream: give --upstream URL or upstream: in %s", path)
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			log := newLogger(cfg, os.Stderr)
			ctx := cmd.Context()
			var v bearer.Verifier
			if in := rules.Introspection; in != nil {
				v = bearer.NewIntrospector(in.URL, in.ClientID, in.ClientSecret, bearer.IntrospectorOptions{})
			} else {
				st, keys, err := openStore(ctx, cfg, log, false)
				if err != nil {
					return err
				}
				defer st.Close()
				core, err := oauth.New(oauth.Config{Store: st, Keys: keys, Issuer: cfg.IssuerURL(), Logger: log})
				if err != nil {
					return err
				}
				v = gateway.CoreVerifier{Core: core}
			}
			if j := rules.JWT; j != nil {
				v = gateway.WithJWT(bearer.NewJWTVerifier(j.Issuer, j.JWKSURL, j.Audience), v)
			}
			h, err := gateway.New(rules, upstream, v, log)
			if err != nil {
				return err
			}
			addr, _ := f.GetString("addr")
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "latchkey gateway listening on http://%s, forwarding to %s\n", ln.Addr(), upstream.Redacted())
			return server.Serve(ctx, ln, reqid.Middleware(h), log)
		},
	}
	f := cmd.Flags()
	f.String("rules", "", "gateway rule file (required; see examples/*-gateway.yaml)")
	f.String("upstream", "", "URL of the API to forward to (overrides upstream: in the rule file)")
	f.String("addr", "127.0.0.1:8081", "HOST:PORT to listen on")
	f.String("introspect-url", "", "check tokens through this introspection endpoint instead of the database")
	f.String("client-id", "", "client id for introspection (its secret from LATCHKEY_GATEWAY_CLIENT_SECRET)")
	cmd.MarkFlagRequired("rules")
	return cmd
}

// startGateway runs the gateway of serve's config beside the server, until
// ctx ends; the channel reports how it stopped (nil at once when there is none).
func startGateway(ctx context.Context, stdout io.Writer, g *config.Gateway, v bearer.Verifier, log *slog.Logger) (<-chan error, error) {
	done := make(chan error, 1)
	if g == nil {
		done <- nil
		return done, nil
	}
	rules, err := gateway.LoadRules(g.Rules)
	if err != nil {
		return nil, err
	}
	if g.Upstream != "" {
		rules.Upstream = g.Upstream
	}
	upstream, err := url.Parse(rules.Upstream)
	if err != nil || upstream.Host == "" {
		return nil, fmt.Errorf("gateway: no upstream: set gateway.upstream or upstream: in %s", g.Rules)
	}
	if j := rules.JWT; j != nil {
		v = gateway.WithJWT(bearer.NewJWTVerifier(j.Issuer, j.JWKSURL, j.Audience), v)
	}
	h, err := gateway.New(rules, upstream, v, log)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", g.Addr)
	if err != nil {
		return nil, fmt.Errorf("gateway: listen on %s: %w", g.Addr, err)
	}
	fmt.Fprintf(stdout, "latchkey gateway listening on http://%s, forwarding to %s\n", ln.Addr(), upstream.Redacted())
	go func() { done <- server.Serve(ctx, ln, reqid.Middleware(h), log) }()
	return done, nil
}
