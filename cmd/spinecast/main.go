// Command spinecast trains, scores, evaluates and inspects Spinecast's
// outcome-prediction models. See README.md for the command contract.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "spinecast: "+err.Error())
		os.Exit(1)
	}
}
