//go:build !race

package defaultmodels_test

const raceEnabled = false
