package fhir_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/spinecast/spinecast/fhir"
)

// fetched is the part of Fetch's searchset Bundle the tests read.
type fetched struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        int    `json:"total"`
	Entry        []struct {
		FullURL  string `json:"fullUrl"`
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		} `json:"resource"`
	} `json:"entry"`
}

func TestClientFetchSearchMergesPages(t *testing.T) {
	f, srv := newFake(t)
	var queries []string
	f.search = func(w http.ResponseWriter, r *http.Request, typ string) {
		queries = append(queries, r.URL.RawQuery)
		switch r.URL.Query().Get("page") {
		case "":
			// Page 1: a match, an OperationOutcome (mode outcome, dropped)
			// and a link to page 2.
			fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"self","url":"%[1]s/Observation?patient=p1"},{"relation":"next","url":"%[1]s/Observation?patient=p1&page=2"}],"entry":[
				{"fullUrl":"%[1]s/Observation/o1","resource":{"resourceType":"Observation","id":"o1"},"search":{"mode":"match"}},
				{"resource":{"resourceType":"OperationOutcome","id":"w","issue":[]},"search":{"mode":"outcome"}}]}`, srv.URL)
		case "2":
			// Page 2 repeats o1 (servers do when data change mid-paging).
			fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset","entry":[
				{"resource":{"resourceType":"Observation","id":"o1"}},
				{"resource":{"resourceType":"Observation","id":"o2"}}]}`)
		}
	}
	c := &fhir.Client{BaseURL: srv.URL + "/", Token: "s3cret", Sleep: noSleep}
	raw, err := c.Fetch(context.Background(), "Observation?patient=p1")
	if err != nil {
		t.Fatal(err)
	}
	var b fetched
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range b.Entry {
		ids = append(ids, e.Resource.ResourceType+"/"+e.Resource.ID)
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total != 2 || strings.Join(ids, " ") != "Observation/o1 Observation/o2" {
		t.Errorf("merged bundle %s/%s total %d entries %v, want searchset with o1 o2", b.ResourceType, b.Type, b.Total, ids)
	}
	if b.Entry[0].FullURL != srv.URL+"/Observation/o1" {
		t.Errorf("fullUrl %q not kept", b.Entry[0].FullURL)
	}
	if len(queries) != 2 || !f.sawToken {
		t.Errorf("queries %v, token sent %v; want 2 pages with the token", queries, f.sawToken)
	}
	c.MaxPages = 1
	if _, err := c.Fetch(context.Background(), "Observation?patient=p1"); err == nil || !strings.Contains(err.Error(), "more than 1 pages") {
		t.Errorf("page cap: %v", err)
	}
}

func TestClientFetchRead(t *testing.T) {
	f, srv := newFake(t)
	c := &fhir.Client{BaseURL: srv.URL, Sleep: noSleep}
	raw, err := c.Fetch(context.Background(), "Patient/p1")
	if err != nil || !strings.Contains(string(raw), `"resourceType":"Patient"`) {
		t.Fatalf("read: %v %s", err, raw)
	}
	f.patient = func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset"}`)
	}
	if _, err := c.Fetch(context.Background(), "Patient/p1"); err == nil || !strings.Contains(err.Error(), `is a "Bundle"`) {
		t.Errorf("wrong type read: %v", err)
	}
}

func TestClientFetchRejects(t *testing.T) {
	f, srv := newFake(t)
	for _, rel := range []string{"", "Patient", "patient/p1", "Patient/p 1", "Patient/p1?x=1", "../etc/passwd", "Observation?%zz"} {
		_, err := (&fhir.Client{BaseURL: srv.URL}).Fetch(context.Background(), rel)
		if err == nil {
			t.Errorf("Fetch(%q) succeeded", rel)
		}
	}
	if n := len(f.calls); n != 0 {
		t.Errorf("%d requests sent for malformed paths", n)
	}
	// Retries and failures behave as in Record; the patient id stays out
	// of errors.
	f.search = func(w http.ResponseWriter, r *http.Request, typ string) { w.WriteHeader(http.StatusServiceUnavailable) }
	_, err := (&fhir.Client{BaseURL: srv.URL, Sleep: noSleep}).Fetch(context.Background(), "Condition?patient=secret-id-42")
	if err == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "secret-id-42") {
		t.Errorf("503: %v", err)
	}
	if got := f.calls["/Condition"]; got != 4 {
		t.Errorf("%d calls for a 503, want 1 + 3 retries", got)
	}
}
