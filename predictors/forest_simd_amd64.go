//go:build amd64 && !purego

package predictors

import "golang.org/x/sys/cpu"

// forestSIMD reports whether this machine runs forestPartitionAVX512: it
// needs AVX-512F (gathers, compress, mask registers; cpu also checks that
// the operating system saves the zmm state), BMI2 (BZHI) and POPCNT.
var forestSIMD = cpu.X86.HasAVX512F && cpu.X86.HasBMI2 && cpu.X86.HasPOPCNT

// forestPartitionAVX512 splits the n row numbers at src by the node test
// x[r*stride] > thr (x points at the node's feature in row 0): the rows
// that fail it (go left) are written to dst[0:l] in the order of src,
// those that pass it (go right) to dst[l:n], and l is returned. It reads
// the rows' float32 roundings x32[r*stride32] and compares them with
// thr32 = float32(thr): rounding is monotone, so a greater or smaller
// float32 decides the float64 test, and only rows whose rounding equals
// thr32 are read from x. The right-hand rows come in rounds of 16 from the
// back, so their order is not that of src. Every r*stride32 and r*stride
// must be below 2³¹ and inside x32 and x; dst must have room for n row
// numbers and not overlap src. Implemented in forest_simd_amd64.s; only to
// be called when forestSIMD.
//
//go:noescape
func forestPartitionAVX512(src *int32, n int, x32 *float32, thr32 float32, dst *int32, stride32 int, x *float64, thr float64, stride int) (l int)
