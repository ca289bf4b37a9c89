package importer_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey-dev/latchkey/internal/importer"
	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// BenchmarkImportMillionAccounts imports 1,000,000 guests with bcrypt
// hashes from JSON Lines into a fresh SQLite file, as `latchkey import
// accounts` does, and reports rows/s, the wall time and the process's
// peak RSS (VmHWM). It takes about a minute: run it alone, once,
//
//	go test ./internal/importer -run '^$' -bench ImportMillionAccounts -benchtime 1x
//
// (-short skips it). Its figures are in docs/PERFORMANCE.md.
func BenchmarkImportMillionAccounts(b *testing.B) {
	if testing.Short() {
		b.Skip("a minute long; not with -short")
	}
	const rows = 1_000_000
	dir := b.TempDir()
	file := filepath.Join(dir, "accounts.jsonl")
	writeGuests(b, file, rows)
	b.StopTimer()
	for i := range b.N {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("lk%d.db", i)), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		if err := st.CreateMerchant(ctx, storage.Merchant{ID: "777777", Name: "Bench", CreatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
		in, err := os.Open(file)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		sum, err := importer.Run(ctx, importer.Config{Store: st, Kind: importer.Accounts, Format: importer.JSONLines}, in)
		wall := time.Since(start)
		b.StopTimer()
		in.Close()
		if err != nil {
			b.Fatal(err)
		}
		if sum.Created != rows || sum.Failed != 0 {
			b.Fatalf("summary %v, want %d created", sum, rows)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rows)/wall.Seconds(), "rows/s")
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(peakRSS(b))/(1<<20), "peak-RSS-MiB")
	}
}

// writeGuests writes n guests of merchant 777777, each with a bcrypt hash
// of the form of one real hash with its salt varied: hashing a million
// passwords is not what is measured.
func writeGuests(b *testing.B, path string, n int) {
	real, err := bcrypt.GenerateFromPassword([]byte("open456!"), 10)
	if err != nil {
		b.Fatal(err)
	}
	h := string(real) // $2a$10$ + 22 salt characters + 31 hash characters
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	for i := range n {
		salt := []byte(h[7:29])
		for j, k := 0, i; j < 4; j, k = j+1, k/64 {
			salt[j] = alphabet[k%64]
		}
		fmt.Fprintf(w, `{"id":"g%07d","kind":"guest","username":"guest%07d@example.com","merchant_id":"777777","printed_card_number":"6%09d","password_hash":"%s%s%s","created_at":"2024-05-01T12:00:00Z"}`+"\n",
			i, i, i, h[:7], salt, h[29:])
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// peakRSS is the process's peak resident set in bytes (Linux), 0 elsewhere.
func peakRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}
