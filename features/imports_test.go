package features_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportDirection keeps dependencies pointing inward: features imports
// no predictors, models, server or net/http; fhir does not import features.
func TestImportDirection(t *testing.T) {
	for dir, forbidden := range map[string][]string{
		".":       {"/predictors", "/models", "/server", "net/http"},
		"../fhir": {"/features", "/predictors", "/models", "/server"},
	} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range af.Imports {
				for _, bad := range forbidden {
					if strings.HasSuffix(strings.Trim(im.Path.Value, `"`), bad) {
						t.Errorf("%s imports %s", f, im.Path.Value)
					}
				}
			}
		}
	}
}
