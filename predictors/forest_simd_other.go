//go:build !amd64 || purego

package predictors

// forestSIMD is false: this build has no vector kernel, and Predict walks
// each row down each tree (forestPacked.addLeaves).
var forestSIMD = false

// forestPartitionAVX512 exists only in amd64 builds; Predict never calls it
// when forestSIMD is false.
func forestPartitionAVX512(src *int32, n int, x32 *float32, thr32 float32, dst *int32, stride32 int, x *float64, thr float64, stride int) (l int) {
	panic("predictors: forestPartitionAVX512 called without AVX-512 support")
}
