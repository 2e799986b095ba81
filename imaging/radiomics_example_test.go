package imaging_test

import (
	"fmt"

	"github.com/spinecast/spinecast/imaging"
)

// Radiomics on the IBSI-1 digital phantom with the settings the IBSI
// manual prescribes for it.
func ExampleRadiomics() {
	v, m, err := imaging.IBSIPhantom()
	if err != nil {
		fmt.Println(err)
		return
	}
	feats, err := imaging.Radiomics(v, m, imaging.IBSIPhantomSettings())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range feats {
		switch f.IBSICode {
		case "RNU0", "Q4LE", "VJGA":
			fmt.Printf("%s (%s, %s): %.3g\n", f.Name, f.IBSICode, f.Aggregation, f.Value)
		}
	}
	// Output:
	// Volume (mesh) (RNU0, 3D): 556
	// Local intensity peak (VJGA, 3D): 2.6
	// Mean intensity (Q4LE, 3D): 2.15
}

func ExampleReadNIfTI() {
	v, err := imaging.ReadNIfTI("testdata/ibsi/phantom.nii.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := imaging.ReadNIfTIMask("testdata/ibsi/mask.nii.gz")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Dims, v.Spacing, m.Count(), imaging.CheckGrid(v, m))
	// Output: [5 4 4] [2 2 2] 74 <nil>
}
