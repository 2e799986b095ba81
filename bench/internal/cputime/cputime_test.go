package cputime

import "testing"

func TestSecondsIncreases(t *testing.T) {
	a := Seconds()
	x := 0.0
	for i := 0; i < 50_000_000; i++ { // about 50 ms of work
		x += float64(i)
	}
	b := Seconds()
	if x == 0 || b <= a {
		t.Fatalf("CPU time did not increase: %v then %v", a, b)
	}
}
