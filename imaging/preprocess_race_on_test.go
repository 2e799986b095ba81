//go:build race

package imaging_test

// raceEnabled: the race detector slows the large real-scan runs about
// tenfold; tests then skip the repeated ones (the concurrency they exercise
// is also exercised on the small MRI crop and the phantom).
const raceEnabled = true
