package server_test

import (
	"fmt"

	"github.com/spinecast/spinecast/server"
)

// A static REST API key is configured by its sha256, never in clear.
func ExampleHashAPIKey() {
	fmt.Println(server.HashAPIKey("correct horse battery staple"))
	// Output: c4bbcb1fbec99d65bf59d85c8cb62ee2db963f0fe106f483d9afa73bd4e39a8a
}
