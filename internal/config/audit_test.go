package config

import "testing"

// TestAuditTokenIssued: on by default, turned off by its variable or flag.
func TestAuditTokenIssued(t *testing.T) {
	c, err := Load("", func(string) string { return "" }, nil)
	if err != nil || !c.AuditTokenIssued {
		t.Fatalf("default: %v, %v; want on", c.AuditTokenIssued, err)
	}
	env := map[string]string{"LATCHKEY_AUDIT_TOKEN_ISSUED": "false"}
	c, err = Load("", func(k string) string { return env[k] }, nil)
	if err != nil || c.AuditTokenIssued {
		t.Fatalf("LATCHKEY_AUDIT_TOKEN_ISSUED=false: %v, %v; want off", c.AuditTokenIssued, err)
	}
	env["LATCHKEY_AUDIT_TOKEN_ISSUED"] = "sometimes"
	if _, err := Load("", func(k string) string { return env[k] }, nil); err == nil {
		t.Fatal("a value that is not a boolean was accepted")
	}
}
