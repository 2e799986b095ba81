//go:build race

package cohort_test

// raceEnabled: the race detector slows the image simulation about tenfold;
// the imaging evidence test (thousands of simulated MRIs) is skipped then.
// Its concurrency is exercised by TestAddImages on a few patients.
const raceEnabled = true
