package features_test

import (
	"fmt"
	"time"

	"github.com/spinecast/spinecast/features"
	"github.com/spinecast/spinecast/fhir"
)

func ExampleExtract() {
	data := []byte(`{"resourceType":"Bundle","type":"collection","entry":[
	 {"resource":{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1970-06-15"}},
	 {"resource":{"resourceType":"Observation","id":"odi1","status":"final","subject":{"reference":"Patient/p1"},
	   "code":{"coding":[{"system":"http://loinc.org","code":"97909-6"}]},"effectiveDateTime":"2024-03-01",
	   "valueQuantity":{"value":44,"system":"http://unitsofmeasure.org","code":"%"}}},
	 {"resource":{"resourceType":"Observation","id":"odi2","status":"final","subject":{"reference":"Patient/p1"},
	   "code":{"coding":[{"system":"http://loinc.org","code":"97909-6"}]},"effectiveDateTime":"2024-09-01",
	   "valueQuantity":{"value":38,"system":"http://unitsofmeasure.org","code":"%"}}}]}`)
	rec, err := fhir.Parse(data, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := features.Extract(rec, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	odi, _ := v.Value("odi_baseline")
	n, _ := v.Value("odi_n")
	_, hasBMI := v.Value("bmi")
	bmiMissing, _ := v.Value("bmi_missing")
	fmt.Println("schema", v.SchemaVersion)
	fmt.Println("odi_baseline", odi, "from", v.Provenance["odi_baseline"], "n", n)
	fmt.Println("bmi present:", hasBMI, "bmi_missing:", bmiMissing)
	// Output:
	// schema 1.0.0
	// odi_baseline 44 from [Observation/odi1] n 1
	// bmi present: false bmi_missing: 1
}
