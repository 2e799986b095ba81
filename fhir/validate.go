package fhir

import (
	"fmt"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// UCUM is the code system URI of UCUM units.
const UCUM = "http://unitsofmeasure.org"

// validator collects the issues of one resource at location loc. failed is
// set by the first error: the resource is then left out.
type validator struct {
	loc    string
	is     *Issues
	failed bool
}

func (v *validator) path(el string) string {
	if el == "" {
		return v.loc
	}
	return v.loc + "." + el
}

func (v *validator) fail(code, el, format string, args ...any) {
	v.failed = true
	v.is.add(Error, code, v.path(el), format, args...)
}

func (v *validator) warn(code, el, format string, args ...any) {
	v.is.add(Warning, code, v.path(el), format, args...)
}

func (v *validator) decode(raw []byte, out any) bool {
	if err := decodeStrict(raw, out, v.loc, v.is); err != nil {
		v.fail(CodeStructure, "", "cannot decode the resource: %s", jsonErrText(err))
		return false
	}
	return true
}

// date parses a date (dateTime when dt) at element el; a bad value is an
// issue of severity sev (an Error fails the resource).
func (v *validator) date(s, el string, dt bool, sev Severity) (Date, bool) {
	var d Date
	var err error
	if dt {
		d, err = ParseDateTime(s)
	} else {
		d, err = ParseDate(s)
	}
	if err != nil {
		if sev == Error {
			v.fail(CodeValue, el, "%v", err)
		} else {
			v.is.add(sev, CodeValue, v.path(el), "%v", err)
		}
		return Date{}, false
	}
	return d, true
}

// period places a Period at its start (its end when it has no start) and
// checks start ≤ end.
func (v *validator) period(p *fm.Period, el string) Date {
	var s, e Date
	ok := true
	if p.Start != nil {
		s, ok = v.date(*p.Start, el+".start", true, Error)
	}
	if p.End != nil && ok {
		e, ok = v.date(*p.End, el+".end", true, Error)
	}
	if !ok {
		return Date{}
	}
	if !s.IsZero() && !e.IsZero() && e.LastDay().Before(s.FirstDay()) {
		v.fail(CodeInvariant, el, "period ends before it starts")
		return Date{}
	}
	if s.IsZero() {
		return e
	}
	return s
}

// concept requires a CodeableConcept with a coding carrying a code, or a
// text; codings need a system when they have a code.
func (v *validator) concept(c *fm.CodeableConcept, el string) bool {
	if c == nil || len(c.Coding) == 0 && (c.Text == nil || *c.Text == "") {
		v.fail(CodeRequired, el, "a CodeableConcept with a coding or text is required")
		return false
	}
	for i, cd := range c.Coding {
		if cd.Code != nil && (cd.System == nil || *cd.System == "") {
			v.warn(CodeValue, fmt.Sprintf("%s.coding[%d].system", el, i), "coding without a system cannot be matched against code lists")
		}
	}
	return true
}

// quantity checks a Quantity's shape: a value, and a UCUM code when the
// system is UCUM. Whether the unit suits a given feature is checked where
// the feature is computed.
func (v *validator) quantity(q *fm.Quantity, el string) bool {
	if q == nil {
		return true
	}
	if q.Value == nil {
		v.warn(CodeRequired, el+".value", "quantity without a value")
		return true
	}
	if _, err := q.Value.Float64(); err != nil {
		v.fail(CodeValue, el+".value", "not a decimal")
		return false
	}
	if q.System != nil && *q.System != UCUM {
		v.warn(CodeValue, el+".system", "unit system is not UCUM: the unit cannot be checked")
		return true
	}
	if q.System != nil && (q.Code == nil || *q.Code == "") {
		v.fail(CodeRequired, el+".code", "UCUM system without a unit code")
		return false
	}
	if q.Code != nil && !validUCUMSyntax(*q.Code) {
		v.fail(CodeValue, el+".code", "malformed UCUM unit code")
		return false
	}
	return true
}

// validUCUMSyntax is a coarse check of UCUM's case-sensitive syntax: printable
// ASCII without spaces, balanced brackets and braces.
func validUCUMSyntax(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			return false
		}
		switch c {
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
			if depth < 0 {
				return false
			}
		}
	}
	return depth == 0
}

// items checks QuestionnaireResponse items recursively: linkId is required.
func (v *validator) items(items []fm.QuestionnaireResponseItem, el string) bool {
	for i := range items {
		it := &items[i]
		p := fmt.Sprintf("%s[%d]", el, i)
		if strings.TrimSpace(it.LinkId) == "" {
			v.fail(CodeRequired, p+".linkId", "QuestionnaireResponse.item.linkId is required")
			return false
		}
		if !v.items(it.Item, p+".item") {
			return false
		}
		for j := range it.Answer {
			if !v.items(it.Answer[j].Item, fmt.Sprintf("%s.answer[%d].item", p, j)) {
				return false
			}
		}
	}
	return true
}
