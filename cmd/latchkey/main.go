// Command latchkey is the latchkey OAuth 2.0 authorization server and its admin tool.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "latchkey: "+oneLine(err))
		var ee exitError
		if errors.As(err, &ee) {
			os.Exit(int(ee))
		}
		os.Exit(1)
	}
}

// exitError is an error that sets a specific exit code.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// oneLine keeps an error to a single line so scripts and people read it alike.
func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
