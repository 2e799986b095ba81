package features_test

import (
	"testing"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

// BenchmarkExtract: features from one parsed Synthea bundle (304 entries,
// 118 resources kept). Parsing is measured by fhir's BenchmarkParse.
func BenchmarkExtract(b *testing.B) {
	for _, tc := range []struct{ name, path string }{{"entries=70", "../testdata/fhir/synthea_clemente_kreiger_70.json.gz"}, {"entries=304", "../testdata/fhir/synthea_cary_ohara_304.json.gz"}} {
		rec, err := fhir.Parse(mustReadGz(b, tc.path), nil)
		if err != nil {
			b.Fatal(err)
		}
		asOf := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := features.Extract(rec, asOf, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
