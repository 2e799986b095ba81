package fhir

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// DefaultBulkMemory is the default memory budget of ReadBulk for grouping.
const DefaultBulkMemory = 256 << 20

// BulkOptions configures ReadBulk. A nil *BulkOptions means defaults.
type BulkOptions struct {
	// Options apply to each patient's record.
	Options *Options
	// MemoryBytes bounds the raw NDJSON held at once while grouping; 0 means
	// DefaultBulkMemory. Larger exports are split by patient into temporary
	// partition files first.
	MemoryBytes int64
	// TempDir holds the partition files; "" means os.TempDir().
	TempDir string
	// MaxLineBytes caps one NDJSON line; 0 means DefaultMaxBytes.
	MaxLineBytes int
}

// BulkStats summarises a bulk read.
type BulkStats struct {
	Files      int
	Lines      int
	Patients   int
	Rejected   int // patients whose record was rejected
	Orphans    int // lines whose subject is not a Patient reference
	Unattached int // lines without a subject (Organization, Practitioner, …), not read
	Malformed  int // lines that are not JSON resources
	Partitions int
}

// ReadBulk reads a FHIR Bulk Data export directory (Patient.ndjson,
// Observation.ndjson, …: one resource per line, files and lines in any
// order), groups the resources by patient and calls fn once per patient
// with the patient's id and record, or with the *RejectError that says why
// the record was refused. Memory is bounded by MemoryBytes of raw input (the
// export is hash-partitioned by patient to temporary files when larger).
// Patients come in a deterministic order: by partition, then by id.
// fn's error stops the read and is returned. Patient ids are never logged.
func ReadBulk(ctx context.Context, dir string, opts *BulkOptions, fn func(patientID string, rec *Record, err error) error) (BulkStats, error) {
	var st BulkStats
	if opts == nil {
		opts = &BulkOptions{}
	}
	budget := opts.MemoryBytes
	if budget <= 0 {
		budget = DefaultBulkMemory
	}
	maxLine := opts.MaxLineBytes
	if maxLine <= 0 {
		maxLine = DefaultMaxBytes
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.ndjson"))
	if err != nil {
		return st, fmt.Errorf("read bulk %s: %w", dir, err)
	}
	if len(files) == 0 {
		return st, fmt.Errorf("read bulk %s: no .ndjson files", dir)
	}
	sort.Strings(files)
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			return st, fmt.Errorf("read bulk: %w", err)
		}
		total += fi.Size()
	}
	st.Files = len(files)
	// Raw bytes become several times larger once decoded: keep a quarter.
	// At most 1024 partition files are open at once; beyond that a
	// partition may exceed the budget.
	k := min(int(total/max(budget/4, 1))+1, 1024)
	st.Partitions = k
	var parts []*os.File
	var writers []*bufio.Writer
	groups := map[string][]line{}
	if k > 1 {
		tmp, err := os.MkdirTemp(opts.TempDir, "spinecast-bulk-")
		if err != nil {
			return st, fmt.Errorf("read bulk: %w", err)
		}
		defer os.RemoveAll(tmp)
		for i := 0; i < k; i++ {
			f, err := os.Create(filepath.Join(tmp, strconv.Itoa(i)))
			if err != nil {
				return st, fmt.Errorf("read bulk: %w", err)
			}
			defer f.Close()
			parts = append(parts, f)
			writers = append(writers, bufio.NewWriterSize(f, 1<<16))
		}
	}
	for _, path := range files {
		if err := scanLines(ctx, path, maxLine, func(n int, raw []byte) error {
			st.Lines++
			key, kind := patientKey(raw)
			switch kind {
			case keyMalformed:
				st.Malformed++
				return nil
			case keyOrphan:
				st.Orphans++
				return nil
			case keyNone:
				st.Unattached++
				return nil
			}
			loc := filepath.Base(path) + ":" + strconv.Itoa(n)
			if k == 1 {
				groups[key] = append(groups[key], line{loc: loc, raw: bytes.Clone(raw)})
				return nil
			}
			w := writers[partition(key, k)]
			w.WriteString(key)
			w.WriteByte('\t')
			w.WriteString(loc)
			w.WriteByte('\t')
			w.Write(raw)
			return w.WriteByte('\n')
		}); err != nil {
			return st, err
		}
	}
	emit := func(groups map[string][]line) error {
		keys := make([]string, 0, len(groups))
		for k := range groups {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, key := range keys {
			if err := ctx.Err(); err != nil {
				return err
			}
			b := NewBuilder(opts.Options)
			for _, l := range groups[key] {
				b.Add(l.raw, l.loc, "")
			}
			rec, err := b.Record()
			st.Patients++
			if err != nil {
				st.Rejected++
			}
			if err := fn(key, rec, err); err != nil {
				return err
			}
		}
		return nil
	}
	if k == 1 {
		return st, emit(groups)
	}
	for i, w := range writers {
		if err := w.Flush(); err != nil {
			return st, fmt.Errorf("read bulk: write partition: %w", err)
		}
		if _, err := parts[i].Seek(0, io.SeekStart); err != nil {
			return st, fmt.Errorf("read bulk: %w", err)
		}
	}
	for i := range parts {
		groups := map[string][]line{}
		sc := bufio.NewScanner(parts[i])
		sc.Buffer(make([]byte, 1<<16), maxLine+1024)
		for sc.Scan() {
			key, rest, _ := strings.Cut(sc.Text(), "\t")
			loc, raw, _ := strings.Cut(rest, "\t")
			groups[key] = append(groups[key], line{loc: loc, raw: []byte(raw)})
		}
		if err := sc.Err(); err != nil {
			return st, fmt.Errorf("read bulk: read partition: %w", err)
		}
		if err := emit(groups); err != nil {
			return st, err
		}
	}
	return st, nil
}

type line struct {
	loc string
	raw []byte
}

func partition(key string, k int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(k))
}

// scanLines calls fn for each non-blank line of path (1-based numbers).
func scanLines(ctx context.Context, path string, maxLine int, fn func(int, []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read bulk: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), maxLine)
	n := 0
	for sc.Scan() {
		n++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if err := fn(n, raw); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("read bulk: %s line %d: longer than %d bytes", filepath.Base(path), n+1, maxLine)
		}
		return fmt.Errorf("read bulk: %s: %w", filepath.Base(path), err)
	}
	return nil
}

const (
	keyOK = iota
	keyMalformed
	keyOrphan
	keyNone
)

// patientKey returns the id of the patient a bulk line belongs to: its own
// id for a Patient, else the id in subject.reference (or patient.reference):
// "Patient/x" or an absolute URL ending in it.
func patientKey(raw []byte) (string, int) {
	var h struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Subject      *struct {
			Reference string `json:"reference"`
		} `json:"subject"`
		Patient *struct {
			Reference string `json:"reference"`
		} `json:"patient"`
	}
	if err := json.Unmarshal(raw, &h); err != nil || h.ResourceType == "" {
		return "", keyMalformed
	}
	if h.ResourceType == "Patient" {
		if !validID(h.ID) {
			return "", keyMalformed
		}
		return h.ID, keyOK
	}
	ref := ""
	if h.Subject != nil {
		ref = h.Subject.Reference
	} else if h.Patient != nil {
		ref = h.Patient.Reference
	} else {
		return "", keyNone
	}
	i := strings.LastIndex(ref, "Patient/")
	if i < 0 || (i > 0 && ref[i-1] != '/') || i+8 == len(ref) || strings.Contains(ref[i+8:], "/") {
		return "", keyOrphan
	}
	return ref[i+8:], keyOK
}
