package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/config"
)

// healthcheckTimeout bounds one check: a container runtime's own probe
// timeout is usually longer, so latchkey answers first with a reason.
const healthcheckTimeout = 3 * time.Second

// newHealthcheckCmd is a probe for container images with no shell or curl
// (the scratch image): it exits 0 when the server's readiness endpoint
// answers 200, and 1 otherwise.
func newHealthcheckCmd() *cobra.Command {
	d := config.Defaults()
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Exit 0 if the server's /readyz answers 200 within 3 s, else 1 (for container health checks)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, _ := cmd.Flags().GetString("url")
			if url == "" {
				// Only without --url: a probe given its URL must not fail
				// over an unrelated setting.
				cfg, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				if url, err = readyURL(cfg.Addr, cfg.Scheme()); err != nil {
					return err
				}
			}
			if err := checkReady(cmd.Context(), url, healthcheckTimeout); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "ready: %s\n", url)
			return nil
		},
	}
	f := cmd.Flags()
	f.String("url", "", "readiness URL to check; default http://ADDR/readyz (https:// when serve has --tls-cert)")
	f.String("addr", d.Addr, "HOST:PORT the server listens on (env LATCHKEY_ADDR)")
	return cmd
}

// readyURL is the readiness URL of a server listening on addr and
// answering scheme (config.Config.Scheme). A wildcard host is reached on
// loopback, which is where a probe inside the container runs.
func readyURL(addr, scheme string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("addr %q is not HOST:PORT", addr)
	}
	if port == "0" {
		return "", fmt.Errorf("addr %q has port 0, so the port is unknown: give --url", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// checkReady GETs url and reports an error unless it answers 200 within timeout.
func checkReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// No proxy from the environment: the probe talks to the server beside it.
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	if host := req.URL.Hostname(); req.URL.Scheme == "https" {
		if ip, err := netip.ParseAddr(host); (err == nil && ip.IsLoopback()) || host == "localhost" {
			// On loopback the probe asks whether the server beside it is
			// up, not who it is: its certificate names the public host.
			tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		}
	}
	client := &http.Client{Transport: tr}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck %s: status %d: %s", url, resp.StatusCode, body)
	}
	return nil
}
