package fhir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/spinecast/spinecast/fhir"
)

func BenchmarkParse(b *testing.B) {
	for _, tc := range []struct{ name, path string }{{"entries=70", clementePath}, {"entries=304", caryPath}} {
		data := mustReadGz(b, tc.path)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fhir.Parse(data, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// WriteSyntheticExport writes n patients, each a Patient, six ODI and NRS
// observations, a BMI, a smoking status and two Conditions, as a Bulk Data
// export (one file per type, patients interleaved). It returns the bytes
// written.
func writeSyntheticExport(tb testing.TB, dir string, n int) int64 {
	tb.Helper()
	open := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		return f
	}
	pf, of, cf := open("Patient.ndjson"), open("Observation.ndjson"), open("Condition.ndjson")
	defer pf.Close()
	defer of.Close()
	defer cf.Close()
	var total int64
	w := func(f *os.File, s string) {
		k, err := f.WriteString(s + "\n")
		if err != nil {
			tb.Fatal(err)
		}
		total += int64(k)
	}
	for i := 0; i < n; i++ {
		id := "p" + strconv.Itoa(i)
		w(pf, fmt.Sprintf(`{"resourceType":"Patient","id":"%s","gender":"%s","birthDate":"19%02d-0%d-1%d"}`, id, []string{"male", "female"}[i%2], 40+i%50, 1+i%9, i%10))
		for j := 0; j < 3; j++ {
			w(of, fmt.Sprintf(`{"resourceType":"Observation","id":"%s-odi%d","status":"final","subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"http://loinc.org","code":"97909-6"}]},"effectiveDateTime":"2023-0%d-15","valueQuantity":{"value":%d,"system":"http://unitsofmeasure.org","code":"%%"}}`, id, j, id, 1+3*j, 20+(i+j*7)%60))
			w(of, fmt.Sprintf(`{"resourceType":"Observation","id":"%s-nrs%d","status":"final","subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"http://loinc.org","code":"72514-3"}]},"effectiveDateTime":"2023-0%d-15","valueQuantity":{"value":%d,"system":"http://unitsofmeasure.org","code":"{score}"}}`, id, j, id, 1+3*j, (i+j)%11))
		}
		w(of, fmt.Sprintf(`{"resourceType":"Observation","id":"%s-bmi","status":"final","subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"http://loinc.org","code":"39156-5"}]},"effectiveDateTime":"2023-05-01","valueQuantity":{"value":%d.5,"system":"http://unitsofmeasure.org","code":"kg/m2"}}`, id, id, 19+i%20))
		w(of, fmt.Sprintf(`{"resourceType":"Observation","id":"%s-smk","status":"final","subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"http://loinc.org","code":"72166-2"}]},"effectiveDateTime":"2023-05-01","valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"8517006"}]}}`, id, id))
		w(cf, fmt.Sprintf(`{"resourceType":"Condition","id":"%s-c1","subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"M48.061"}]},"onsetDateTime":"2021-0%d-01"}`, id, id, 1+i%9))
		w(cf, fmt.Sprintf(`{"resourceType":"Condition","id":"%s-c2","subject":{"reference":"Patient/%s"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]},"onsetDateTime":"2015"}`, id, id))
	}
	return total
}

// BenchmarkReadBulk measures grouping and validation of a bulk export; the
// bytes/s figure is the raw NDJSON rate. Set SPINECAST_BULK_PATIENTS to
// measure a large export (the README records 100,000 patients).
func BenchmarkReadBulk(b *testing.B) {
	n := 2000
	if s := os.Getenv("SPINECAST_BULK_PATIENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	size := writeSyntheticExport(b, dir, n)
	for _, mem := range []int64{0, 16 << 20} {
		b.Run(fmt.Sprintf("patients=%d/memory=%d", n, mem), func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				count := 0
				_, err := fhir.ReadBulk(context.Background(), dir, &fhir.BulkOptions{MemoryBytes: mem, TempDir: b.TempDir()}, func(_ string, rec *fhir.Record, err error) error {
					if err != nil {
						return err
					}
					count++
					return nil
				})
				if err != nil || count != n {
					b.Fatalf("%d patients, err %v", count, err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "patients/s")
		})
	}
}
