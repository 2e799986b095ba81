package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Client reads one patient's record from a FHIR R4 server over REST. The
// zero value is not usable: set BaseURL. Responses are untrusted: each is
// size-limited, must be the resource type asked for, and goes through the
// same validation as a Bundle.
type Client struct {
	// BaseURL is the server's base, e.g. https://ehr.example/fhir.
	BaseURL string
	// Token is sent as a bearer token when set; it is never logged and is
	// only sent to BaseURL's host (next links elsewhere are refused).
	Token string
	// Tokens, when set, supplies the bearer token instead of Token (e.g.
	// *BackendServices); after a 401 the token is invalidated and the
	// request tried once more with a fresh one.
	Tokens TokenSource
	// HTTP is the client used; nil means http.DefaultClient. The deadline
	// of each call comes from its context.
	HTTP *http.Client
	// MaxPages caps the pages followed per search (Bundle.link[next]); 0
	// means 20. A search with more pages is an error, never silently cut.
	MaxPages int
	// MaxBytes caps one response body; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxRetries caps retries of a 429 or 503 response; 0 means 3, < 0 none.
	MaxRetries int
	// MaxWait caps one wait before a retry (Retry-After included); 0 means 30 s.
	MaxWait time.Duration
	// Backoff is the first wait before retrying a 429 or 503 that carries
	// no Retry-After; it doubles with each retry. 0 means 500 ms.
	Backoff time.Duration
	// Sleep waits between retries; nil means a timer honouring ctx. Tests
	// inject their own.
	Sleep func(ctx context.Context, d time.Duration) error
	// Options apply to the assembled record.
	Options *Options
}

// ErrNotFound is returned (wrapped) when the server answers 404 or 410.
var ErrNotFound = errors.New("not found")

// StatusError is a non-success HTTP answer that is not retried (or whose
// retries ran out).
type StatusError struct {
	Status int
	URL    string // the request, without patient identifiers
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("fhir server answered %d for %s", e.Status, e.URL)
}

// Searches the client runs for a patient: the resource type and the query
// beyond patient=<id>.
var patientSearches = []struct{ typ, query string }{
	{"Observation", "category=survey"},
	{"Observation", "category=vital-signs"},
	{"Observation", "category=social-history"},
	{"Observation", "code=http://loinc.org|72514-3,http://loinc.org|97909-6,http://loinc.org|39156-5,http://loinc.org|72166-2"},
	{"QuestionnaireResponse", ""},
	{"Condition", ""},
	{"Procedure", ""},
	{"MedicationStatement", ""},
	{"MedicationRequest", ""},
	{"ServiceRequest", ""},
	{"ImagingStudy", ""},
}

// Record reads Patient/{id} and searches the resource types Spinecast uses,
// assembling and validating the patient's record.
func (c *Client) Record(ctx context.Context, id string) (*Record, error) {
	if !validID(id) {
		return nil, errors.New("fhir client: malformed patient id")
	}
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("fhir client: base URL must be an http(s) URL")
	}
	b := NewBuilder(c.Options)
	raw, err := c.get(ctx, base, base.String()+"/Patient/"+id, "Patient/{id}")
	if err != nil {
		return nil, fmt.Errorf("read patient: %w", err)
	}
	var h head
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("read patient: response is not JSON: %s", jsonErrText(err))
	}
	if h.ResourceType != "Patient" {
		return nil, fmt.Errorf("read patient: response is a %q, not a Patient", h.ResourceType)
	}
	b.Add(raw, "Patient", "")
	seen := map[string]bool{}
	for _, s := range patientSearches {
		q := "patient=" + url.QueryEscape(id)
		if s.query != "" {
			k, v, _ := strings.Cut(s.query, "=")
			q += "&" + k + "=" + url.QueryEscape(v)
		}
		if err := c.search(ctx, base, base.String()+"/"+s.typ+"?"+q, s.typ, b, seen); err != nil {
			return nil, fmt.Errorf("search %s: %w", s.typ, err)
		}
	}
	return b.Record()
}

// searchPage is one page of a searchset Bundle, as far as paging needs it.
type searchPage struct {
	ResourceType string           `json:"resourceType"`
	Type         string           `json:"type"`
	Link         []fm.BundleLink  `json:"link"`
	Entry        []fm.BundleEntry `json:"entry"`
}

// pages GETs a searchset and follows its next links (at most MaxPages
// pages, and only on base's scheme and host), calling fn with each page
// (numbered from 1). label names the search in errors.
func (c *Client) pages(ctx context.Context, base *url.URL, next, label string, fn func(page int, p *searchPage) error) error {
	maxPages := c.MaxPages
	if maxPages <= 0 {
		maxPages = 20
	}
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return fmt.Errorf("more than %d pages: refusing a partial record", maxPages)
		}
		raw, err := c.get(ctx, base, next, label)
		if err != nil {
			return err
		}
		var bun searchPage
		if err := json.Unmarshal(raw, &bun); err != nil {
			return fmt.Errorf("page %d is not a JSON Bundle: %s", page+1, jsonErrText(err))
		}
		if bun.ResourceType != "Bundle" || bun.Type != "searchset" {
			return fmt.Errorf("page %d is a %q (type %q), not a searchset Bundle", page+1, bun.ResourceType, bun.Type)
		}
		if err := fn(page+1, &bun); err != nil {
			return err
		}
		next = ""
		for _, l := range bun.Link {
			if l.Relation == "next" {
				u, err := url.Parse(l.Url)
				if err != nil || u.Scheme != base.Scheme || u.Host != base.Host {
					return fmt.Errorf("page %d: next link leaves the server: refused", page+1)
				}
				next = u.String()
			}
		}
	}
	return nil
}

// search pages through a searchset, adding each match of type typ once.
func (c *Client) search(ctx context.Context, base *url.URL, next, typ string, b *Builder, seen map[string]bool) error {
	return c.pages(ctx, base, next, typ+" search", func(page int, bun *searchPage) error {
		for i, e := range bun.Entry {
			if e.Search != nil && e.Search.Mode != nil && *e.Search.Mode != fm.SearchEntryModeMatch {
				continue // included resources and outcomes
			}
			var eh head
			if len(e.Resource) == 0 || json.Unmarshal(e.Resource, &eh) != nil || eh.ResourceType != typ {
				b.issues.add(Warning, CodeStructure, fmt.Sprintf("%s page %d entry[%d]", typ, page, i), "search entry is not a %s: skipped", typ)
				continue
			}
			if eh.ID != nil {
				key := typ + "/" + *eh.ID
				if seen[key] {
					continue
				}
				seen[key] = true
			}
			full := ""
			if e.FullUrl != nil {
				full = *e.FullUrl
			}
			b.Add(e.Resource, fmt.Sprintf("%s page %d entry[%d].resource", typ, page, i), full)
		}
		return nil
	})
}

// Fetch GETs rel, a path relative to BaseURL such as a CDS Hooks prefetch
// template after its tokens are filled: a read ("Patient/123") returns the
// resource, which must be of the type named; a search ("Observation?
// patient=123") follows every next link, with the same limits, retries
// and token rules as Record, and returns one searchset Bundle holding the
// entries of all pages (resources repeated across pages kept once, the
// search.mode "outcome" entries dropped). Nothing is validated beyond
// that: the caller parses the result like any Bundle. Errors never
// contain rel's query (it carries the patient id).
func (c *Client) Fetch(ctx context.Context, rel string) ([]byte, error) {
	base, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("fhir client: base URL must be an http(s) URL")
	}
	rel = strings.TrimLeft(rel, "/")
	path, query, isSearch := strings.Cut(rel, "?")
	typ, id, isRead := strings.Cut(path, "/")
	if !validType(typ) || isSearch == isRead || isRead && !validID(id) {
		return nil, fmt.Errorf("fhir client: %s is neither Type/id nor Type?query", label(typ))
	}
	u := base.String() + "/" + rel
	if isRead {
		raw, err := c.get(ctx, base, u, typ+"/{id}")
		if err != nil {
			return nil, err
		}
		var h head
		if err := json.Unmarshal(raw, &h); err != nil {
			return nil, fmt.Errorf("read %s: response is not JSON: %s", typ, jsonErrText(err))
		}
		if h.ResourceType != typ {
			return nil, fmt.Errorf("read %s: response is a %q", typ, h.ResourceType)
		}
		return raw, nil
	}
	if _, err := url.ParseQuery(query); err != nil {
		return nil, fmt.Errorf("fhir client: malformed %s search query", typ)
	}
	var entries []fm.BundleEntry
	seen := map[string]bool{}
	err = c.pages(ctx, base, u, typ+" search", func(_ int, bun *searchPage) error {
		for _, e := range bun.Entry {
			if e.Search != nil && e.Search.Mode != nil && *e.Search.Mode == fm.SearchEntryModeOutcome {
				continue
			}
			var eh head
			if json.Unmarshal(e.Resource, &eh) == nil && eh.ID != nil {
				key := eh.ResourceType + "/" + *eh.ID
				if seen[key] {
					continue
				}
				seen[key] = true
			}
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", typ, err)
	}
	b, err := json.Marshal(struct {
		ResourceType string           `json:"resourceType"`
		Type         string           `json:"type"`
		Total        int              `json:"total"`
		Entry        []fm.BundleEntry `json:"entry,omitempty"`
	}{"Bundle", "searchset", len(entries), entries})
	if err != nil {
		return nil, fmt.Errorf("search %s: assemble bundle: %w", typ, err)
	}
	return b, nil
}

// validType reports whether s looks like a FHIR resource type name.
func validType(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// label returns s when it is a resource type name, else "the path": error
// messages never echo arbitrary input.
func label(s string) string {
	if validType(s) {
		return s
	}
	return "the path"
}

// get fetches one URL, retrying 429 and 503 with backoff. label names the
// request in errors without the patient id.
func (c *Client) get(ctx context.Context, base *url.URL, u, label string) ([]byte, error) {
	retries := c.MaxRetries
	if retries == 0 {
		retries = 3
	}
	maxWait := c.MaxWait
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	short := label
	reauthorised := false
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Accept", "application/fhir+json")
		token := c.Token
		if c.Tokens != nil && req.URL.Host == base.Host {
			if token, err = c.Tokens.Token(ctx); err != nil {
				return nil, fmt.Errorf("get %s: %w", short, err)
			}
		}
		if token != "" && req.URL.Host == base.Host {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			// *url.Error repeats the URL, which holds the patient id.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return nil, fmt.Errorf("get %s: %w", short, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && c.Tokens != nil && !reauthorised {
			// The cached token may have been revoked or expired early.
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			c.Tokens.Invalidate()
			reauthorised = true
			attempt--
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			wait := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if attempt >= retries || retries < 0 {
				return nil, &StatusError{Status: resp.StatusCode, URL: short}
			}
			if wait <= 0 {
				backoff := c.Backoff
				if backoff <= 0 {
					backoff = 500 * time.Millisecond
				}
				wait = backoff << attempt
			}
			if wait > maxWait {
				return nil, fmt.Errorf("get %s: server asks to wait %s, more than %s", short, wait, maxWait)
			}
			sleep := c.Sleep
			if sleep == nil {
				sleep = sleepCtx
			}
			if err := sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("get %s: %w", short, err)
			}
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("get %s: read body: %w", short, err)
		}
		switch {
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			return nil, fmt.Errorf("get %s: %w", short, ErrNotFound)
		case resp.StatusCode != http.StatusOK:
			return nil, &StatusError{Status: resp.StatusCode, URL: short}
		case int64(len(body)) > limit:
			return nil, fmt.Errorf("get %s: response larger than %d bytes", short, limit)
		}
		return body, nil
	}
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
