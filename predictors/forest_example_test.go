package predictors_test

import (
	"fmt"
	"log"

	"gonum.org/v1/gonum/mat"

	"github.com/spinecast/spinecast/predictors"
)

// forestExampleData is a small two-feature data set: the outcome is
// positive when the first feature exceeds 5, except for two noisy rows.
func forestExampleData() (*mat.Dense, []bool) {
	x := mat.NewDense(12, 2, []float64{
		1, 7, 2, 3, 3, 8, 4, 1, 5, 6, 6, 2,
		7, 9, 8, 4, 9, 5, 10, 3, 2.5, 5, 8.5, 8,
	})
	y := []bool{false, false, false, false, false, true, true, true, true, true, true, false}
	return x, y
}

func ExampleFitForest() {
	x, y := forestExampleData()
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 200, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	p, err := f.Predict(mat.NewDense(2, 2, []float64{1.5, 1, 9.5, 5}), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("P(y=1 | x=(1.5, 1)) = %.3f\n", p[0])
	fmt.Printf("P(y=1 | x=(9.5, 5)) = %.3f\n", p[1])
	fmt.Printf("impurity importance: %.2f\n", f.ImpurityImportance())
	// Output:
	// P(y=1 | x=(1.5, 1)) = 0.158
	// P(y=1 | x=(9.5, 5)) = 0.970
	// impurity importance: [0.56 0.44]
}

func ExampleForest_Explain() {
	x, y := forestExampleData()
	f, err := predictors.FitForest(x, y, nil, &predictors.ForestSettings{Trees: 200, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	row := []float64{9.5, 5}
	p, err := f.PredictOne(row)
	if err != nil {
		log.Fatal(err)
	}
	base, phi, err := f.Explain(row, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("p = %.4f = base %.4f + φ %.4f\n", p, base, phi)
	// Output:
	// p = 0.9700 = base 0.4900 + φ [0.2609 0.2191]
}
