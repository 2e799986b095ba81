package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"
)

// run builds the command tree and executes it with args; main only wires
// the process to it, so tests call run directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "spinecast",
		Short:         "Spine outcome prediction: train, score, evaluate and inspect models",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}
