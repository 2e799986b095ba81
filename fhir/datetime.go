package fhir

import (
	"errors"
	"fmt"
	"time"
)

// Precision of a FHIR date or dateTime.
type Precision uint8

// Precisions, coarsest first.
const (
	Year Precision = iota + 1
	Month
	Day
	Second
)

// Date is a parsed FHIR date, dateTime or instant. Partial dates (a year, a
// year and month) keep their precision. The calendar day is the one written
// in the value (its own time-zone offset), not the day in UTC.
type Date struct {
	// Time is the earliest instant the value can mean; for values without a
	// time it is midnight UTC of the first day covered.
	Time      time.Time
	Precision Precision
}

// IsZero reports whether d is unset.
func (d Date) IsZero() bool { return d.Precision == 0 }

// FirstDay is midnight UTC of the first calendar day the value covers.
func (d Date) FirstDay() time.Time {
	y, m, dd := d.Time.Date()
	return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC)
}

// LastDay is midnight UTC of the last calendar day the value covers: the
// day itself for a day or a dateTime, 31 December for a year, the month's
// last day for a month. Leakage checks compare LastDay with the index date,
// so a value that may fall after the index date is never used.
func (d Date) LastDay() time.Time {
	f := d.FirstDay()
	switch d.Precision {
	case Year:
		return f.AddDate(1, 0, -1)
	case Month:
		return f.AddDate(0, 1, -1)
	}
	return f
}

// ErrDate is wrapped by every date parsing error. The messages describe
// what is wrong without repeating the value (a birth date identifies).
var ErrDate = errors.New("invalid FHIR date")

func digits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// ParseDate parses a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD).
func ParseDate(s string) (Date, error) {
	d, rest, err := parseDatePart(s)
	if err != nil {
		return Date{}, err
	}
	if rest != "" {
		return Date{}, fmt.Errorf("%w: unexpected text after the date", ErrDate)
	}
	return d, nil
}

func parseDatePart(s string) (Date, string, error) {
	y, ok := digits(s, 4)
	if !ok || y == 0 {
		return Date{}, "", fmt.Errorf("%w: want YYYY, YYYY-MM or YYYY-MM-DD", ErrDate)
	}
	if len(s) == 4 {
		return Date{Time: time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC), Precision: Year}, "", nil
	}
	m, ok := digits(s[min(5, len(s)):], 2)
	if s[4] != '-' || !ok || m < 1 || m > 12 {
		return Date{}, "", fmt.Errorf("%w: bad month", ErrDate)
	}
	if len(s) == 7 {
		return Date{Time: time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC), Precision: Month}, "", nil
	}
	d, ok := digits(s[min(8, len(s)):], 2)
	if s[7] != '-' || !ok || d < 1 {
		return Date{}, "", fmt.Errorf("%w: bad day", ErrDate)
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return Date{}, "", fmt.Errorf("%w: day %d does not exist in that month", ErrDate, d)
	}
	return Date{Time: t, Precision: Day}, s[10:], nil
}

// ParseDateTime parses a FHIR dateTime: a date of any precision, or a full
// date with a time hh:mm:ss[.fraction] and a zone (Z or ±hh:mm), which the
// specification requires whenever a time is given.
func ParseDateTime(s string) (Date, error) {
	d, rest, err := parseDatePart(s)
	if err != nil {
		return Date{}, err
	}
	if rest == "" {
		return d, nil
	}
	if d.Precision != Day || rest[0] != 'T' {
		return Date{}, fmt.Errorf("%w: unexpected text after the date", ErrDate)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Date{}, fmt.Errorf("%w: want YYYY-MM-DDThh:mm:ss[.sss](Z|±hh:mm)", ErrDate)
	}
	if h, _ := digits(rest[1:], 2); h > 23 {
		return Date{}, fmt.Errorf("%w: bad hour", ErrDate)
	}
	// Keep the calendar day as written: FirstDay reads t in its own zone.
	return Date{Time: t, Precision: Second}, nil
}
