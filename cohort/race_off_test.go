//go:build !race

package cohort_test

const raceEnabled = false
