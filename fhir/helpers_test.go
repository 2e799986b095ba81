package fhir_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"testing"
)

// mustReadGz reads a gzip-compressed test file.
func mustReadGz(tb testing.TB, path string) []byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

const (
	caryPath     = "../testdata/fhir/synthea_cary_ohara_304.json.gz"
	clementePath = "../testdata/fhir/synthea_clemente_kreiger_70.json.gz"
)

// bundle wraps resources (JSON objects) in a collection Bundle.
func bundle(resources ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[`)
	for i, r := range resources {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"resource":` + r + `}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

const patientJSON = `{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1960-05-17"}`

func jsonNumber(s string) json.Number { return json.Number(s) }
