package oauth_test

import (
	"os"
	"testing"

	"github.com/latchkey-dev/latchkey/internal/testutil/pgtest"
)

// TestMain says when this package's PostgreSQL tests were skipped.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
