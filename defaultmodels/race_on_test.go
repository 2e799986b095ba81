//go:build race

package defaultmodels_test

// raceEnabled: the race detector slows the MRI simulation about tenfold,
// so the held-out check of the models that use imaging runs without it.
const raceEnabled = true
