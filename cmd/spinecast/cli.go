package main

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// env is what a command needs from the process; tests pass their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	// interactive is true when stderr is a terminal (progress bars).
	interactive bool
}

// run builds the command tree and executes it with args; main only wires
// the process to it, so tests call run directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	if f, ok := stderr.(*os.File); ok {
		e.interactive = term.IsTerminal(int(f.Fd()))
	}
	root := &cobra.Command{
		Use:   "spinecast",
		Short: "Spine outcome prediction: train, score, evaluate and inspect models",
		Long: "Spinecast predicts spine-care outcomes with calibrated probabilities, intervals and explanations.\n" +
			"Models trained on simulated data are demonstration models, not for clinical use.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(trainCmd(e), scoreCmd(e), evaluateCmd(e), inspectCmd(e), featuresCmd(e), imagingCmd(e), serveCmd(e), auditCmd(e), cohortCmd(e), cardCmd(e), modelsCmd(e))
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}
