package sqlite_test

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// BenchmarkCountPasswordSchemes1M measures the latchkey_password_hashes
// gauge's query on 1,000,000 accounts (a quarter each bcrypt, PBKDF2,
// scrypt and Argon2id), which it runs at most once a minute.
func BenchmarkCountPasswordSchemes1M(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "lk.db")
	opts := sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)}
	st, err := sqlite.Open(ctx, path, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateMerchant(ctx, storage.Merchant{ID: "m", Name: "M"}); err != nil {
		b.Fatal(err)
	}
	st.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	_, err = raw.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999999)
		INSERT INTO accounts (id, kind, merchant_id, realm, username, username_key, password_hash, printed_card_number, disabled, created_at)
		SELECT 'a' || i, 'guest', 'm', 'm', 'u' || i, 'u' || i, CASE i % 4
			WHEN 0 THEN '$2b$10$abcdefghijklmnopqrstuuQdLo3zGJ0qHvSPt3UDWvOUDa3YvvE.6'
			WHEN 1 THEN 'pbkdf2_sha256$870000$c3dZ1pQ8rT0m4nKx$5fBTqeDVLQylN6QuYJCxtg+SbzxewjpzjzpT5JGLHkk='
			WHEN 2 THEN '$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E'
			ELSE '$argon2id$v=19$m=19456,t=2,p=1$ACVKb5S53gMoTXKXvOEGKw$wG8uNAQGFFoAXTEBomxfAHSpv6CvBHsfVFJ2eoyJ83k' END,
			'', FALSE, 0 FROM n`)
	raw.Close()
	if err != nil {
		b.Fatal(err)
	}
	st, err = sqlite.Open(ctx, path, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// CPU time too, which a busy machine does not inflate as it does wall time.
	start := cpuTime()
	n := 0
	for b.Loop() {
		counts, err := st.CountPasswordSchemes(ctx)
		if err != nil || counts["bcrypt"] != 250000 || counts["argon2id"] != 250000 {
			b.Fatalf("counts %v, %v", counts, err)
		}
		n++
	}
	b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(n), "cpu-ms/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
