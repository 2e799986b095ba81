// Package cputime reads the CPU time the process has used (user + system,
// all threads), so that timings on a shared machine can be reported both as
// wall-clock seconds and as CPU seconds: waiting for a core held by another
// process inflates the first but not the second.
package cputime

import "syscall"

// Seconds returns the user + system CPU time used so far by the process.
func Seconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic("cputime: getrusage: " + err.Error())
	}
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
