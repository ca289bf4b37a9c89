package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchkey-dev/latchkey/internal/oauth"
	"github.com/latchkey-dev/latchkey/internal/storage"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Read the audit log of administrative changes and security events"}
	export := &cobra.Command{
		Use:   "export",
		Short: "Write audit events as JSON Lines, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := auditFilter(cmd)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			st, _, err := openStore(cmd.Context(), cfg, newLogger(cfg, os.Stderr), false)
			if err != nil {
				return err
			}
			defer st.Close()
			w := bufio.NewWriter(cmd.OutOrStdout())
			enc := json.NewEncoder(w)
			f.Limit = storage.MaxAuditLimit
			for {
				evs, err := st.ListAuditEvents(cmd.Context(), f)
				if err != nil {
					return err
				}
				for _, e := range evs {
					if err := enc.Encode(oauth.AuditEventAsJSON(e)); err != nil {
						return err
					}
				}
				if len(evs) < f.Limit {
					return w.Flush()
				}
				f.After = evs[len(evs)-1].ID
			}
		},
	}
	fl := export.Flags()
	fl.String("since", "", "only events at or after this time (RFC 3339)")
	fl.String("until", "", "only events before this time (RFC 3339)")
	fl.String("type", "", "only events of this type, such as client.created")
	fl.String("actor", "", "only events by this actor, such as cli or client:ID")
	fl.String("subject", "", "only events about this subject, such as account:ID")
	fl.String("merchant", "", "only events of this merchant")
	fl.String("client", "", "only events of this client")
	cmd.AddCommand(export)
	return cmd
}

// auditFilter reads export's flags.
func auditFilter(cmd *cobra.Command) (storage.AuditFilter, error) {
	var f storage.AuditFilter
	fl := cmd.Flags()
	for _, t := range []struct {
		flag string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v, _ := fl.GetString(t.flag); v != "" {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, fmt.Errorf("--%s %q is not an RFC 3339 time such as 2026-11-29T10:00:00Z", t.flag, v)
			}
			*t.to = at
		}
	}
	f.Type, _ = fl.GetString("type")
	f.Actor, _ = fl.GetString("actor")
	f.Subject, _ = fl.GetString("subject")
	f.MerchantID, _ = fl.GetString("merchant")
	f.ClientID, _ = fl.GetString("client")
	return f, nil
}
