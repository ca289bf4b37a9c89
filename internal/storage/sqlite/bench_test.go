package sqlite_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey-dev/latchkey/internal/storage"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlite"
	"github.com/latchkey-dev/latchkey/internal/storage/sqlstore"
)

// BenchmarkCreateTokensParallel measures durable token writes from many
// goroutines, which group commit folds into shared transactions.
func BenchmarkCreateTokensParallel(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "lk.db"), sqlstore.Options{Migrate: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateClient(ctx, storage.Client{ID: "c"}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	now := time.Now()
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint(n.Add(1))
			tok := storage.AccessToken{ID: "at" + id, FamilyID: "f" + id, ClientID: "c", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := st.CreateTokens(ctx, storage.TokenSet{Access: &tok}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
