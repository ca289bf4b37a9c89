package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/latchkey-dev/latchkey/internal/config"
	"github.com/latchkey-dev/latchkey/internal/server"
)

// listenAdmin binds admin-addr, if set, and puts the bound address in
// cfg.AdminAddr (the real port when 0 was asked for). Without admin-addr it
// returns nil: the admin API is on the main listener.
func listenAdmin(cfg *config.Config) (net.Listener, error) {
	if cfg.AdminAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on admin-addr %s: %w", cfg.AdminAddr, err)
	}
	cfg.AdminAddr = ln.Addr().String()
	return ln, nil
}

// withTLS wraps the listeners (admin may be nil) in TLS when tls-cert and
// tls-key are set, loading the pair now so that a bad file stops the start
// with its reason. The certificate is reloaded when its files change.
func withTLS(cfg config.Config, log *slog.Logger, ln, admin net.Listener) (net.Listener, net.Listener, error) {
	if !cfg.TLS() {
		return ln, admin, nil
	}
	certs, err := server.NewCertReloader(cfg.TLSCert, cfg.TLSKey, log)
	if err != nil {
		return nil, nil, err
	}
	tc := server.TLSConfig(certs)
	ln = tls.NewListener(ln, tc)
	if admin != nil {
		admin = tls.NewListener(admin, tc)
	}
	return ln, admin, nil
}

// serveListeners serves srv on ln, and its admin API on admin when that is
// not nil, until ctx ends or either listener fails, which stops the other.
func serveListeners(ctx context.Context, srv *server.Server, ln, admin net.Listener, log *slog.Logger) error {
	if admin == nil {
		return srv.Serve(ctx, ln)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	adminDone := make(chan error, 1)
	go func() {
		err := server.Serve(ctx, admin, srv.AdminHandler(), log)
		cancel()
		adminDone <- err
	}()
	err := srv.Serve(ctx, ln)
	cancel()
	if aerr := <-adminDone; aerr != nil && err == nil {
		err = fmt.Errorf("admin listener: %w", aerr)
	}
	return err
}
