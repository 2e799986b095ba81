// Command loadtest sends a fixed rate of requests to a Spinecast server on
// this machine and reports latency percentiles. It is bounded on purpose:
// loopback targets only, at most 2,000 requests per second and 60 seconds.
//
//	go run ./scripts/loadtest --url http://127.0.0.1:8080 --route cds --rate 200 --duration 10s
//
// The server must run with --insecure-dev (no JWTs are minted here).
// Requests are scheduled open-loop (a request is due every 1/rate seconds
// whether or not earlier ones have returned), so a slow server shows up as
// latency rather than as a lower rate; latency is measured from the moment
// each request was due.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: "+err.Error())
		os.Exit(1)
	}
}

// Report is the result of one run.
type Report struct {
	Route     string  `json:"route"`
	Rate      float64 `json:"rate_per_s"`
	Duration  string  `json:"duration"`
	Sent      int     `json:"sent"`
	OK        int     `json:"ok"`
	Failed    int     `json:"failed"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	FirstFail string  `json:"first_failure,omitempty"`
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	base := fs.String("url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	route := fs.String("route", "cds", "cds (POST /cds-services/spine-surgery-outcomes, full prefetch) or predictions (POST /v1/predictions)")
	rate := fs.Float64("rate", 200, "requests per second (≤ 2000)")
	dur := fs.Duration("duration", 10*time.Second, "how long to send (≤ 60s)")
	features := fs.String("features", "", "JSON file: the predictions body's features object (default: a vertebral row)")
	record := fs.String("prefetch", "", "JSON file: the CDS prefetch object (default: a small built-in record)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate <= 0 || *rate > 2000 || *dur <= 0 || *dur > time.Minute {
		return errors.New("--rate must be in (0, 2000] and --duration in (0, 60s]")
	}
	if err := loopbackOnly(*base); err != nil {
		return err
	}
	var path string
	var body []byte
	var err error
	switch *route {
	case "cds":
		path = "/cds-services/spine-surgery-outcomes"
		body, err = cdsBody(*record)
	case "predictions":
		path = "/v1/predictions"
		body, err = predictionsBody(*features)
	default:
		return fmt.Errorf("--route %q: want cds or predictions", *route)
	}
	if err != nil {
		return err
	}
	rep, err := load(context.Background(), *base+path, body, *rate, *dur)
	if err != nil {
		return err
	}
	rep.Route = "POST " + path
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// loopbackOnly refuses any target that does not resolve to loopback.
func loopbackOnly(base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return fmt.Errorf("--url %q is not a URL", base)
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil {
		return fmt.Errorf("resolve %s: %w", u.Hostname(), err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("--url %s resolves to %s: this tool only targets loopback addresses", base, ip)
		}
	}
	return nil
}

func load(ctx context.Context, target string, body []byte, rate float64, dur time.Duration) (*Report, error) {
	n := int(math.Round(rate * dur.Seconds()))
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0}}
	// One warm-up request checks the target answers 200.
	if _, err := send(ctx, client, target, body); err != nil {
		return nil, fmt.Errorf("warm-up: %w", err)
	}
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := send(ctx, client, target, body)
			lat[i] = time.Since(due)
			errs[i] = err
		}()
	}
	wg.Wait()
	rep := &Report{Rate: rate, Duration: dur.String(), Sent: n}
	var ok []time.Duration
	for i, err := range errs {
		if err != nil {
			rep.Failed++
			if rep.FirstFail == "" {
				rep.FirstFail = err.Error()
			}
			continue
		}
		ok = append(ok, lat[i])
	}
	rep.OK = len(ok)
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	ms := func(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
	if len(ok) > 0 {
		rep.P50ms, rep.P90ms, rep.P99ms, rep.MaxMs = ms(quantile(ok, 0.5)), ms(quantile(ok, 0.9)), ms(quantile(ok, 0.99)), ms(ok[len(ok)-1])
	}
	return rep, nil
}

// quantile returns the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	if k < 0 {
		k = 0
	}
	return sorted[k]
}

func send(ctx context.Context, client *http.Client, target string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

func predictionsBody(file string) ([]byte, error) {
	feats := map[string]any{"pelvic_incidence": 63.03, "pelvic_tilt": 22.55, "lumbar_lordosis_angle": 39.61,
		"sacral_slope": 40.48, "pelvic_radius": 98.67, "degree_spondylolisthesis": -0.25}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		feats = nil
		if err := json.Unmarshal(b, &feats); err != nil {
			return nil, fmt.Errorf("--features %s: %w", file, err)
		}
	}
	return json.Marshal(map[string]any{"features": feats})
}

func cdsBody(file string) ([]byte, error) {
	prefetch := defaultPrefetch()
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		prefetch = nil
		if err := json.Unmarshal(b, &prefetch); err != nil {
			return nil, fmt.Errorf("--prefetch %s: %w", file, err)
		}
	}
	return json.Marshal(map[string]any{
		"hook": "patient-view", "hookInstance": "5b7b2f3c-3a5e-4e0f-9a57-8f6f3d2b9c11",
		"context":  map[string]any{"userId": "Practitioner/load", "patientId": "load-1"},
		"prefetch": prefetch,
	})
}

// defaultPrefetch is a small synthetic record: a patient, a few
// observations (NRS back pain, BMI) and a lumbar stenosis condition.
func defaultPrefetch() map[string]any {
	search := func(res ...map[string]any) map[string]any {
		var e []any
		for _, r := range res {
			e = append(e, map[string]any{"resource": r, "search": map[string]any{"mode": "match"}})
		}
		return map[string]any{"resourceType": "Bundle", "type": "searchset", "total": len(res), "entry": e}
	}
	subj := map[string]any{"reference": "Patient/load-1"}
	obs := func(id, loinc, display string, v float64, unit, date string) map[string]any {
		return map[string]any{"resourceType": "Observation", "id": id, "status": "final", "subject": subj,
			"code":              map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": loinc, "display": display}}, "text": display},
			"effectiveDateTime": date, "valueQuantity": map[string]any{"value": v, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}}
	}
	return map[string]any{
		"patient": map[string]any{"resourceType": "Patient", "id": "load-1", "gender": "female", "birthDate": "1961-04-02"},
		"observations": search(
			obs("o1", "39156-5", "Body mass index", 29.4, "kg/m2", "2026-01-10"),
			obs("o2", "72514-3", "Pain severity 0-10 verbal numeric rating", 7, "{score}", "2026-01-10"),
			obs("o3", "72514-3", "Pain severity 0-10 verbal numeric rating", 6, "{score}", "2026-03-01")),
		"conditions": search(map[string]any{"resourceType": "Condition", "id": "c1", "subject": subj,
			"clinicalStatus": map[string]any{"coding": []any{map[string]any{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}}},
			"code":           map[string]any{"coding": []any{map[string]any{"system": "http://snomed.info/sct", "code": "18347007", "display": "Spinal stenosis of lumbar region"}}},
			"onsetDateTime":  "2025-06-01"}),
		"questionnaireResponses": search(),
		"procedures":             search(),
		"medicationStatements":   search(),
	}
}
