package fhir_test

import (
	"fmt"

	"github.com/spinecast/spinecast/fhir"
)

func ExampleParse() {
	data := []byte(`{"resourceType":"Bundle","type":"collection","entry":[
	 {"resource":{"resourceType":"Patient","id":"p1","birthDate":"1970-06-15"}},
	 {"resource":{"resourceType":"Observation","id":"bmi1","status":"final","subject":{"reference":"Patient/p1"},
	   "code":{"coding":[{"system":"http://loinc.org","code":"39156-5"}]},"effectiveDateTime":"2024-03-01",
	   "valueQuantity":{"value":27.5,"system":"http://unitsofmeasure.org","code":"kg/m2"}}},
	 {"resource":{"resourceType":"Observation","id":"bad","subject":{"reference":"Patient/p1"},
	   "code":{"text":"no status"}}}]}`)
	rec, err := fhir.Parse(data, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rec.Patient.Ref, len(rec.Observations), "observation kept")
	for _, is := range rec.Issues {
		fmt.Println(is)
	}
	// Output:
	// Patient/p1 1 observation kept
	// error required at Bundle.entry[2].resource.status: Observation.status is required
}
