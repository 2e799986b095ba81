package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"time"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// DefaultMaxBytes is the default limit on the size of one Bundle or resource.
const DefaultMaxBytes = 32 << 20

// Options for reading FHIR input. A nil *Options means the defaults.
type Options struct {
	// MaxBytes caps the size of one Bundle or resource in bytes; 0 means
	// DefaultMaxBytes. Larger input is rejected, never half read.
	MaxBytes int64
	// Now is the clock used to flag dates in the future; nil means time.Now.
	Now func() time.Time
}

func (o *Options) maxBytes() int64 {
	if o == nil || o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

func (o *Options) now() time.Time {
	if o == nil || o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// bundleTypes are the Bundle types that can carry a patient's record.
var bundleTypes = map[string]bool{
	"collection": true, "searchset": true, "transaction": true, "batch-response": true,
	"transaction-response": true, "batch": true, "document": true,
}

// ReadBundle reads a Bundle (or a single Patient resource) from r, refusing
// more than the size limit, and parses it with Parse.
func ReadBundle(r io.Reader, opts *Options) (*Record, error) {
	limit := opts.maxBytes()
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read bundle: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, &RejectError{Issues: Issues{{Severity: Fatal, Code: CodeTooCostly,
			Diagnostics: fmt.Sprintf("input larger than the %d-byte limit", limit)}}}
	}
	return Parse(data, opts)
}

// Parse reads one patient's record from a FHIR R4 Bundle of type collection,
// searchset, transaction, batch(-response), transaction-response or
// document, or from a lone Patient resource. Entries that fail validation
// are left out with an error Issue; the record is rejected (a *RejectError)
// when the input is not a JSON resource, is too large, or does not hold
// exactly one Patient.
func Parse(data []byte, opts *Options) (*Record, error) {
	if int64(len(data)) > opts.maxBytes() {
		return nil, &RejectError{Issues: Issues{{Severity: Fatal, Code: CodeTooCostly,
			Diagnostics: fmt.Sprintf("input of %d bytes is larger than the %d-byte limit", len(data), opts.maxBytes())}}}
	}
	var h head
	if t, ok := peekType(data); ok {
		h.ResourceType = t // the whole document is checked when decoded below
	} else if err := json.Unmarshal(data, &h); err != nil {
		return nil, &RejectError{Issues: Issues{{Severity: Fatal, Code: CodeStructure, Diagnostics: "not a JSON resource: " + jsonErrText(err)}}}
	}
	b := NewBuilder(opts)
	if h.ResourceType != "Bundle" {
		b.Add(data, h.ResourceType, "")
		return b.Record()
	}
	if err := b.AddBundle(data, "Bundle"); err != nil {
		return nil, err
	}
	return b.Record()
}

// AddBundle adds every entry of a Bundle, locating issues under loc (e.g.
// "Bundle", or a CDS Hooks prefetch key). Entries with a non-2xx response
// status, search outcomes and entries without a resource are skipped with
// an issue. A malformed Bundle, or one of a type that does not carry a
// record (history, message…), is a *RejectError.
func (b *Builder) AddBundle(data []byte, loc string) error {
	if int64(len(data)) > b.opts.maxBytes() {
		b.issues.add(Fatal, CodeTooCostly, loc, "Bundle larger than the %d-byte limit", b.opts.maxBytes())
		return &RejectError{Issues: b.issues}
	}
	var bun struct {
		ResourceType string           `json:"resourceType"`
		Type         *string          `json:"type"`
		Entry        []fm.BundleEntry `json:"entry"`
	}
	if err := json.Unmarshal(data, &bun); err != nil {
		b.issues.add(Fatal, CodeStructure, loc, "malformed Bundle: %s", jsonErrText(err))
		return &RejectError{Issues: b.issues}
	}
	if bun.ResourceType != "Bundle" {
		b.issues.add(Fatal, CodeStructure, loc+".resourceType", "a %q where a Bundle was expected", bun.ResourceType)
		return &RejectError{Issues: b.issues}
	}
	if bun.Type == nil {
		b.issues.add(Error, CodeRequired, loc+".type", "Bundle.type is required")
	} else if !bundleTypes[*bun.Type] {
		b.issues.add(Fatal, CodeNotSupport, loc+".type", "Bundle type %q does not carry a patient record", *bun.Type)
		return &RejectError{Issues: b.issues}
	}
	for i, e := range bun.Entry {
		el := fmt.Sprintf("%s.entry[%d]", loc, i)
		if e.Response != nil && !strings.HasPrefix(strings.TrimSpace(e.Response.Status), "2") {
			b.issues.add(Warning, CodeInformatn, el+".response.status", "entry with response status %q skipped", e.Response.Status)
			continue
		}
		if e.Search != nil && e.Search.Mode != nil && *e.Search.Mode == fm.SearchEntryModeOutcome {
			b.issues.add(Information, CodeInformatn, el+".search.mode", "search outcome entry skipped")
			continue
		}
		if len(e.Resource) == 0 || string(e.Resource) == "null" {
			if e.Request == nil || e.Request.Method != fm.HTTPVerbDELETE {
				b.issues.add(Warning, CodeRequired, el+".resource", "entry without a resource skipped")
			}
			continue
		}
		full := ""
		if e.FullUrl != nil {
			full = *e.FullUrl
		}
		b.Add(e.Resource, el+".resource", full)
	}
	return nil
}

// ParsePrefetch reads a patient's record from CDS Hooks prefetch: each
// value is a resource (typically the Patient) or a searchset Bundle; null
// values (prefetch the EHR could not fill) are skipped. Issue locations
// start with the prefetch key. Keys are read in sorted order.
func ParsePrefetch(prefetch map[string]json.RawMessage, opts *Options) (*Record, error) {
	b := NewBuilder(opts)
	keys := make([]string, 0, len(prefetch))
	for k := range prefetch {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		raw := prefetch[k]
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		t, ok := peekType(raw)
		if !ok {
			var h head
			if err := json.Unmarshal(raw, &h); err != nil {
				b.issues.add(Error, CodeStructure, k, "prefetch value is not a JSON resource: %s", jsonErrText(err))
				continue
			}
			t = h.ResourceType
		}
		if t == "Bundle" {
			if err := b.AddBundle(raw, k); err != nil {
				return nil, err
			}
			continue
		}
		b.Add(raw, k, "")
	}
	return b.Record()
}

// head is the part of a resource read before its full decoding: the
// generated types turn a missing status or intent into their first code,
// so presence is checked here.
type head struct {
	ResourceType string        `json:"resourceType"`
	ID           *string       `json:"id"`
	Status       *string       `json:"status"`
	Intent       *string       `json:"intent"`
	Subject      *fm.Reference `json:"subject"`
}

func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := te.Type.Kind().String()
		if te.Type.Kind() == reflect.Struct || te.Type.Kind() == reflect.Map {
			want = "object"
		}
		if te.Field != "" {
			return fmt.Sprintf("%s: JSON %s where %s was expected", te.Field, te.Value, want)
		}
		return fmt.Sprintf("JSON %s where an %s was expected", te.Value, want)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated JSON"
	}
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}

// decodeStrict decodes raw into out, first refusing unknown elements (which
// the generated types would drop silently): an unknown element gives a
// warning and the resource is decoded again leniently; any other decoding
// error is returned.
func decodeStrict(raw []byte, out any, loc string, is *Issues) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(out)
	if err == nil {
		return nil
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "json: unknown field ") {
		return err
	}
	field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
	if strings.HasPrefix(field, "_") {
		is.add(Information, CodeInformatn, loc+"."+field, "primitive extension %q not read", field)
	} else {
		is.add(Warning, CodeStructure, loc+"."+field, "unknown element %q ignored (only the first unknown element of a resource is reported)", field)
	}
	return json.Unmarshal(raw, out)
}
