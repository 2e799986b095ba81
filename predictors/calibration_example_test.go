package predictors_test

import (
	"fmt"
	"math"

	"github.com/spinecast/spinecast/predictors"
)

// Recalibrate out-of-sample probabilities: Platt scaling on the log-odds and
// isotonic regression (pool-adjacent-violators).
func ExampleFitPlatt() {
	p := []float64{0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9}
	y := []bool{false, false, true, false, true, false, true, true}
	c, err := predictors.FitPlatt(p, y, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The data are symmetric about p = 0.5, so B is 0 up to rounding.
	fmt.Printf("A = %.3f, |B| < 1e-9: %v\n", c.A, math.Abs(c.B) < 1e-9)
	fmt.Printf("0.9 → %.3f, 0.5 → %.3f\n", c.Calibrate(0.9), c.Calibrate(0.5))
	// Output:
	// A = 1.074, |B| < 1e-9: true
	// 0.9 → 0.914, 0.5 → 0.500
}

func ExampleFitIsotonic() {
	p := []float64{0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9}
	y := []bool{false, false, true, false, true, false, true, true}
	c, err := predictors.FitIsotonic(p, y, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("X:", c.X)
	fmt.Println("Y:", c.Y)
	fmt.Printf("0.25 → %.2f, 0.95 → %.2f\n", c.Calibrate(0.25), c.Calibrate(0.95))
	// Output:
	// X: [0.1 0.2 0.3 0.7 0.8 0.9]
	// Y: [0 0 0.5 0.5 1 1]
	// 0.25 → 0.25, 0.95 → 1.00
}
