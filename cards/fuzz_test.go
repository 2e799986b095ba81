package cards_test

import (
	"strings"
	"testing"

	"github.com/spinecast/spinecast/cards"
)

// FuzzBuild feeds arbitrary CSV to Build: it must return a card or an
// error, never panic.
func FuzzBuild(f *testing.F) {
	a := mustModel(f, true)
	data := string(heldout(f, 40))
	f.Add(data)
	f.Add(strings.Split(data, "\n")[0] + "\n")
	f.Add("complication_any_90d\n1\n0\n")
	f.Add(strings.ReplaceAll(data, ",1,", ",NaN,"))
	f.Fuzz(func(t *testing.T, csv string) {
		if c, err := cards.Build(a, strings.NewReader(csv), nil); err == nil && c.EvaluationData.N == 0 {
			t.Error("a card without evaluation rows")
		}
	})
}
