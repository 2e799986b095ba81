// Package jsonout writes the bench tools' results.
package jsonout

import (
	"encoding/json"
	"os"
)

// Write writes v as indented JSON with a final newline to path, or to
// standard output when path is empty.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
