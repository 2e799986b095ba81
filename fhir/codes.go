package fhir

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	fm "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

//go:embed data/codelists.json
var codeListsJSON []byte

// ListCode is one code of a clinical code list.
type ListCode struct {
	System   string `json:"system"`
	Code     string `json:"code"`
	Display  string `json:"display,omitempty"`
	Verified bool   `json:"verified"`
	Source   string `json:"source,omitempty"`
	// AddOn marks procedure codes that count one more level.
	AddOn bool `json:"add_on,omitempty"`
	// Class is the ASA class a coded ASA value stands for.
	Class int `json:"class,omitempty"`
}

// Prefix matches ICD-10 codes starting with Prefix (dots ignored).
type Prefix struct {
	System string `json:"system"`
	Prefix string `json:"prefix"`
}

// CodeList is one named list.
type CodeList struct {
	Description string     `json:"description"`
	Codes       []ListCode `json:"codes"`
	Prefixes    []Prefix   `json:"prefixes,omitempty"`
}

// CodeLists is the versioned set of clinical code lists (data, not code).
type CodeLists struct {
	Version     string              `json:"version"`
	Description string              `json:"description"`
	Systems     map[string]string   `json:"systems"`
	Lists       map[string]CodeList `json:"lists"`
	ASAValues   []ListCode          `json:"asa_values"`

	exact  map[string]map[string]ListCode // list → system|code
	prefix map[string][]Prefix
}

// DefaultCodeLists returns the embedded code lists.
func DefaultCodeLists() *CodeLists {
	c, err := ParseCodeLists(codeListsJSON)
	if err != nil {
		panic("fhir: embedded code lists: " + err.Error()) // a build defect, caught by tests
	}
	return c
}

// ParseCodeLists reads code lists in the embedded file's format; system
// aliases (snomed, icd10cm, …) are expanded to their URIs.
func ParseCodeLists(data []byte) (*CodeLists, error) {
	var c CodeLists
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("parse code lists: %w", err)
	}
	if c.Version == "" {
		return nil, fmt.Errorf("parse code lists: version is required")
	}
	sys := func(s string) string {
		if u, ok := c.Systems[s]; ok {
			return u
		}
		return s
	}
	c.exact = map[string]map[string]ListCode{}
	c.prefix = map[string][]Prefix{}
	for name, l := range c.Lists {
		m := map[string]ListCode{}
		for _, cd := range l.Codes {
			if cd.Code == "" || cd.System == "" {
				return nil, fmt.Errorf("parse code lists: %s: code without system or code", name)
			}
			cd.System = sys(cd.System)
			m[cd.System+"|"+cd.Code] = cd
		}
		c.exact[name] = m
		for _, p := range l.Prefixes {
			c.prefix[name] = append(c.prefix[name], Prefix{System: sys(p.System), Prefix: strings.ReplaceAll(p.Prefix, ".", "")})
		}
	}
	m := map[string]ListCode{}
	for _, cd := range c.ASAValues {
		if cd.Class < 1 || cd.Class > 6 {
			return nil, fmt.Errorf("parse code lists: ASA value %s: class must be 1-6", cd.Code)
		}
		cd.System = sys(cd.System)
		m[cd.System+"|"+cd.Code] = cd
	}
	c.exact["\x00asa"] = m
	return &c, nil
}

// Match returns the first code of concept cc that is in the named list.
func (c *CodeLists) Match(list string, cc *fm.CodeableConcept) (ListCode, bool) {
	if cc == nil {
		return ListCode{}, false
	}
	ex := c.exact[list]
	for _, cd := range cc.Coding {
		if cd.System == nil || cd.Code == nil {
			continue
		}
		if lc, ok := ex[*cd.System+"|"+*cd.Code]; ok {
			return lc, true
		}
		code := strings.ReplaceAll(*cd.Code, ".", "")
		for _, p := range c.prefix[list] {
			if p.System == *cd.System && strings.HasPrefix(code, p.Prefix) {
				return ListCode{System: p.System, Code: *cd.Code, Source: "prefix " + p.Prefix}, true
			}
		}
	}
	return ListCode{}, false
}

// ASAClass maps a coded ASA physical status to its class (0 if unknown).
func (c *CodeLists) ASAClass(cc *fm.CodeableConcept) int {
	if lc, ok := c.Match("\x00asa", cc); ok {
		return lc.Class
	}
	return 0
}
