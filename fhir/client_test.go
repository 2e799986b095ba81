package fhir_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spinecast/spinecast/fhir"
)

// fakeServer serves a patient and searchsets; behaviour per test.
type fakeServer struct {
	mu       sync.Mutex
	calls    map[string]int
	patient  func(w http.ResponseWriter, r *http.Request)
	search   func(w http.ResponseWriter, r *http.Request, typ string)
	sawToken bool
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls[r.URL.Path]++
	if r.Header.Get("Authorization") == "Bearer s3cret" {
		f.sawToken = true
	}
	f.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 2 && parts[0] == "Patient" {
		f.patient(w, r)
		return
	}
	f.search(w, r, parts[0])
}

func newFake(t *testing.T) (*fakeServer, *httptest.Server) {
	f := &fakeServer{calls: map[string]int{}}
	f.patient = func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, patientJSON) }
	f.search = func(w http.ResponseWriter, r *http.Request, typ string) {
		fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset","entry":[]}`)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestClientPagingAndToken(t *testing.T) {
	f, srv := newFake(t)
	f.search = func(w http.ResponseWriter, r *http.Request, typ string) {
		if typ != "Condition" {
			fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset"}`)
			return
		}
		page := r.URL.Query().Get("page")
		next := ""
		if page == "" {
			next = `,"link":[{"relation":"next","url":"` + srv.URL + `/Condition?patient=p1&page=2"}]`
		}
		fmt.Fprintf(w, `{"resourceType":"Bundle","type":"searchset"%s,"entry":[{"fullUrl":"%s/Condition/c%s","resource":{"resourceType":"Condition","id":"c%s","subject":{"reference":"Patient/p1"},"code":{"text":"x"},"onsetDateTime":"2020-01-01"}}]}`, next, srv.URL, page, page)
	}
	c := &fhir.Client{BaseURL: srv.URL, Token: "s3cret", Sleep: noSleep}
	rec, err := c.Record(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Conditions) != 2 {
		t.Errorf("%d conditions over two pages, want 2", len(rec.Conditions))
	}
	if !f.sawToken {
		t.Error("bearer token not sent")
	}
	c.MaxPages = 1
	if _, err := c.Record(context.Background(), "p1"); err == nil || !strings.Contains(err.Error(), "more than 1 pages") {
		t.Errorf("page cap: %v", err)
	}
}

func TestClientRetryAfter(t *testing.T) {
	f, srv := newFake(t)
	n := 0
	f.patient = func(w http.ResponseWriter, r *http.Request) {
		n++
		if n <= 2 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fmt.Fprint(w, patientJSON)
	}
	var waits []time.Duration
	c := &fhir.Client{BaseURL: srv.URL, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	if _, err := c.Record(context.Background(), "p1"); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 2 || waits[0] != 7*time.Second || waits[1] != 7*time.Second {
		t.Errorf("waits %v, want two of 7s (Retry-After)", waits)
	}
	// 503 without Retry-After: exponential backoff, then give up.
	f.patient = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	waits = nil
	_, err := c.Record(context.Background(), "p1")
	var se *fhir.StatusError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("got %v, want a 503 StatusError", err)
	}
	if len(waits) != 3 || waits[0] != 500*time.Millisecond || waits[2] != 2*time.Second {
		t.Errorf("backoff waits %v", waits)
	}
}

func TestClientDefinedFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		patient func(w http.ResponseWriter, r *http.Request)
		search  func(w http.ResponseWriter, r *http.Request, typ string)
		want    string
		timeout time.Duration
	}{
		{name: "500", patient: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }, want: "answered 500"},
		{name: "404", patient: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, want: "not found"},
		{name: "garbage", patient: func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{{{") }, want: "not JSON"},
		{name: "wrong resourceType", patient: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"resourceType":"Observation","status":"final","code":{"text":"x"}}`)
		}, want: "not a Patient"},
		{name: "search not a bundle", search: func(w http.ResponseWriter, r *http.Request, typ string) { fmt.Fprint(w, patientJSON) }, want: "not a searchset Bundle"},
		{name: "search garbage", search: func(w http.ResponseWriter, r *http.Request, typ string) { fmt.Fprint(w, "[1,2") }, want: "not a JSON Bundle"},
		{name: "next link elsewhere", search: func(w http.ResponseWriter, r *http.Request, typ string) {
			fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset","link":[{"relation":"next","url":"https://evil.example/steal"}]}`)
		}, want: "leaves the server"},
		{name: "too large", patient: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"resourceType":"Patient","id":"p1","text":{"status":"generated","div":"`+strings.Repeat("x", 5000)+`"}}`)
		}, want: "larger than 1024 bytes"},
		{name: "slow", patient: func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
		}, want: "deadline exceeded", timeout: 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFake(t)
			if tc.patient != nil {
				f.patient = tc.patient
			}
			if tc.search != nil {
				f.search = tc.search
			}
			c := &fhir.Client{BaseURL: srv.URL, Sleep: noSleep, MaxBytes: 1024}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			_, err := c.Record(ctx, "p1")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestClientSkipsWrongTypeEntries(t *testing.T) {
	f, srv := newFake(t)
	f.search = func(w http.ResponseWriter, r *http.Request, typ string) {
		if typ != "Procedure" {
			fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset"}`)
			return
		}
		fmt.Fprint(w, `{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Observation","id":"o","status":"final","code":{"text":"x"},"subject":{"reference":"Patient/p1"}}}]}`)
	}
	rec, err := (&fhir.Client{BaseURL: srv.URL}).Record(context.Background(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Observations) != 0 {
		t.Error("an Observation in a Procedure search was kept")
	}
	issueAt(t, rec.Issues, "Procedure page 1 entry[0]")
}

func TestClientErrorsHideThePatientID(t *testing.T) {
	f, srv := newFake(t)
	f.patient = func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }
	_, err := (&fhir.Client{BaseURL: srv.URL}).Record(context.Background(), "secret-id-42")
	if err == nil || strings.Contains(err.Error(), "secret-id-42") {
		t.Errorf("error %v", err)
	}
	srv.Close()
	_, err = (&fhir.Client{BaseURL: srv.URL}).Record(context.Background(), "secret-id-42")
	if err == nil || strings.Contains(err.Error(), "secret-id-42") {
		t.Errorf("connection error %v", err)
	}
}
