package imaging

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
)

// Feature is one radiomics feature value.
type Feature struct {
	Family   string `json:"family"`    // feature family, e.g. "intensity statistics", "glcm"
	Name     string `json:"name"`      // IBSI feature name, e.g. "Mean intensity"
	IBSICode string `json:"ibsi_code"` // IBSI identifier, e.g. "Q4LE"
	// Aggregation is the IBSI aggregation method: "3D" for features
	// without one, else e.g. "2D, averaged", "2.5D, merged", "3D, merged".
	Aggregation string  `json:"aggregation"`
	Value       float64 `json:"value"`
}

// FamilyFunc computes one texture family (GLCM, GLRLM, …) from the
// discretised ROI. It must not modify d or s, and must be safe to call
// concurrently with other families.
type FamilyFunc func(d *Discretised, s *Settings) ([]Feature, error)

var (
	familyMu sync.RWMutex
	families = map[string]FamilyFunc{}
)

// RegisterFamily makes a feature family computed from the discretised ROI
// part of Radiomics. Texture families call it from an init function. It
// panics if name is empty, f is nil or name is already registered
// (programmer errors).
func RegisterFamily(name string, f FamilyFunc) {
	if name == "" || f == nil {
		panic("imaging: RegisterFamily with empty name or nil function")
	}
	familyMu.Lock()
	defer familyMu.Unlock()
	if _, dup := families[name]; dup {
		panic("imaging: family " + name + " registered twice")
	}
	families[name] = f
}

// Families returns the names of the registered discretised-ROI families,
// sorted.
func Families() []string {
	familyMu.RLock()
	defer familyMu.RUnlock()
	names := make([]string, 0, len(families))
	for n := range families {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func family(name string) FamilyFunc {
	familyMu.RLock()
	defer familyMu.RUnlock()
	return families[name]
}

// Discretisation methods for Settings.Discretisation.
const (
	FixedBinNumber = "fbn" // Settings.Bins equal-width bins between the ROI minimum and maximum
	FixedBinSize   = "fbs" // bins of Settings.BinWidth starting at Settings.BinMin (or the ROI minimum)
)

// Settings configures preprocessing and feature computation. A nil
// *Settings means DefaultSettings(). The zero value of each field is
// documented; JSON names are those of the --settings file.
type Settings struct {
	// Spacing is the voxel spacing in mm to resample to (IBSI grid
	// alignment: centres aligned). Zero in every axis: no resampling.
	// A zero in one axis keeps that axis's spacing.
	Spacing [3]float64 `json:"spacing,omitempty"`
	// RoundIntensities rounds intensities to the nearest integer after
	// resampling, as IBSI's CT configurations do. False: kept as
	// interpolated.
	RoundIntensities bool `json:"round_intensities,omitempty"`
	// ResegMin and ResegMax re-segment the intensity mask to voxels with
	// ResegMin ≤ intensity ≤ ResegMax. Nil: no bound.
	ResegMin *float64 `json:"reseg_min,omitempty"`
	ResegMax *float64 `json:"reseg_max,omitempty"`
	// Outliers removes intensity-mask voxels outside mean ± 3 SD (after range
	// re-segmentation). False: no outlier filtering.
	Outliers bool `json:"outliers,omitempty"`
	// Discretisation is FixedBinNumber or FixedBinSize; "" means
	// FixedBinNumber.
	Discretisation string `json:"discretisation,omitempty"`
	// Bins is the number of bins for FixedBinNumber; 0 means 32.
	Bins int `json:"bins,omitempty"`
	// BinWidth is the bin width for FixedBinSize (intensity units, e.g. HU);
	// 0 means 25.
	BinWidth float64 `json:"bin_width,omitempty"`
	// BinMin is the lower edge of the first bin for FixedBinSize. Nil: the
	// lower re-segmentation bound when set, else the ROI minimum.
	BinMin *float64 `json:"bin_min,omitempty"`
	// IVHBinWidth > 0 discretises intensities for the intensity-volume
	// histogram by fixed bin size (continuous calibrated intensities, e.g.
	// PET), bins starting at BinMin / ResegMin / the ROI minimum and
	// replaced by their centres. IVHBins > 0 (when IVHBinWidth is 0) uses a
	// fixed bin number instead (arbitrary units, e.g. MRI; IBSI recommends
	// 1000). Both 0: the intensities are discrete calibrated values (CT HU,
	// the IBSI digital phantom), rounded to integers, interval 1, range the
	// re-segmentation range when set, else the ROI minimum and maximum.
	IVHBinWidth float64 `json:"ivh_bin_width,omitempty"`
	IVHBins     int     `json:"ivh_bins,omitempty"`
	// Distance is the Chebyshev neighbourhood distance δ of GLCM, NGTDM and
	// NGLDM; 0 means 1.
	Distance int `json:"distance,omitempty"`
	// NGLDMAlpha is the NGLDM coarseness parameter α; 0 is the IBSI default.
	NGLDMAlpha float64 `json:"ngldm_alpha,omitempty"`
	// Workers bounds the families computed concurrently; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int `json:"workers,omitempty"`
}

// DefaultSettings returns the settings used for a nil *Settings: no
// resampling, no re-segmentation, fixed bin number 32, δ = 1, α = 0.
func DefaultSettings() *Settings {
	return &Settings{Discretisation: FixedBinNumber, Bins: 32, BinWidth: 25, Distance: 1}
}

// normalised returns a copy of s with zero values replaced by defaults.
func (s *Settings) normalised() (*Settings, error) {
	if s == nil {
		s = DefaultSettings()
	}
	c := *s
	if c.Discretisation == "" {
		c.Discretisation = FixedBinNumber
	}
	if c.Bins == 0 {
		c.Bins = 32
	}
	if c.BinWidth == 0 {
		c.BinWidth = 25
	}
	if c.Distance == 0 {
		c.Distance = 1
	}
	switch {
	case c.Discretisation != FixedBinNumber && c.Discretisation != FixedBinSize:
		return nil, fmt.Errorf("imaging: unknown discretisation %q (want %q or %q)", c.Discretisation, FixedBinNumber, FixedBinSize)
	case c.Bins < 1:
		return nil, fmt.Errorf("imaging: bins %d < 1", c.Bins)
	case !(c.BinWidth > 0):
		return nil, fmt.Errorf("imaging: bin width %v not positive", c.BinWidth)
	case c.IVHBinWidth < 0 || c.IVHBins < 0:
		return nil, fmt.Errorf("imaging: ivh bin width %v or bins %d negative", c.IVHBinWidth, c.IVHBins)
	case c.Distance < 1:
		return nil, fmt.Errorf("imaging: distance %d < 1", c.Distance)
	case c.ResegMin != nil && c.ResegMax != nil && *c.ResegMin > *c.ResegMax:
		return nil, fmt.Errorf("imaging: re-segmentation range [%v, %v] empty", *c.ResegMin, *c.ResegMax)
	case c.Workers < 0:
		return nil, fmt.Errorf("imaging: workers %d negative", c.Workers)
	}
	for a := 0; a < 3; a++ {
		if c.Spacing[a] < 0 {
			return nil, fmt.Errorf("imaging: resampling spacing %v negative", c.Spacing)
		}
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return &c, nil
}

// ErrEmptyROI is returned when no voxel is left in the region of interest
// (after resampling or re-segmentation).
var ErrEmptyROI = errors.New("imaging: empty region of interest")

// Radiomics computes every feature family on image v with region of
// interest m (on the same grid: see AlignMask), following IBSI-1:
// resampling (when s.Spacing is set), re-segmentation (range, outliers)
// into the intensity mask, discretisation, then morphology, local
// intensity, intensity statistics, intensity histogram, intensity-volume
// histogram and every family registered with RegisterFamily, computed
// concurrently by s.Workers goroutines. The morphological mask is m
// (resampled). Features come in a fixed order: this package's families,
// then the registered ones by name. A nil s means DefaultSettings().
func Radiomics(v *Volume, m *Mask, s *Settings) ([]Feature, error) {
	s, err := s.normalised()
	if err != nil {
		return nil, fmt.Errorf("radiomics: %w", err)
	}
	if err := CheckGrid(v, m); err != nil {
		return nil, fmt.Errorf("radiomics: %w", err)
	}
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("radiomics: %w", err)
	}
	margin := peakRadius + 1e-6
	var img *Volume
	var morph *Mask
	if s.Spacing != [3]float64{} {
		img, morph, err = Resample(v, m, s.Spacing, margin)
	} else {
		var mv [3]int
		for a := 0; a < 3; a++ {
			mv[a] = int(math.Ceil(margin/v.Spacing[a])) + 1
		}
		img, morph, err = cropROI(v, m, mv)
	}
	if err != nil {
		return nil, fmt.Errorf("radiomics: %w", err)
	}
	if morph.Count() == 0 {
		return nil, fmt.Errorf("radiomics: %w", ErrEmptyROI)
	}
	if s.RoundIntensities {
		for i, x := range img.Data { // img is a copy (crop or resampled grid)
			img.Data[i] = math.Round(x)
		}
	}
	inten, err := Resegment(img, morph, s.ResegMin, s.ResegMax, s.Outliers)
	if err != nil {
		return nil, fmt.Errorf("radiomics: %w", err)
	}
	if inten.Count() == 0 {
		return nil, fmt.Errorf("radiomics: after re-segmentation: %w", ErrEmptyROI)
	}
	d, err := Discretise(img, inten, morph, s)
	if err != nil {
		return nil, fmt.Errorf("radiomics: %w", err)
	}
	type job struct {
		name string
		run  func() ([]Feature, error)
	}
	jobs := []job{
		{FamilyMorphology, func() ([]Feature, error) { return MorphologyFeatures(img, morph, inten, s.Workers) }},
		{FamilyLocalIntensity, func() ([]Feature, error) { return LocalIntensityFeatures(img, inten, s.Workers) }},
		{FamilyStatistics, func() ([]Feature, error) { return StatisticsFeatures(img, inten) }},
		{FamilyHistogram, func() ([]Feature, error) { return HistogramFeatures(d) }},
		{FamilyIntensityVolume, func() ([]Feature, error) { return IntensityVolumeFeatures(img, inten, s) }},
	}
	for _, name := range Families() {
		f := family(name)
		jobs = append(jobs, job{name, func() ([]Feature, error) { return f(d, s) }})
	}
	results := make([][]Feature, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, s.Workers)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i], errs[i] = j.run()
		}()
	}
	wg.Wait()
	var out []Feature
	for i, j := range jobs {
		if errs[i] != nil {
			return nil, fmt.Errorf("radiomics: %s: %w", j.name, errs[i])
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// featureJSON is Feature with a nullable value: JSON has no NaN or ±Inf,
// so undefined values are written as null.
type featureJSON struct {
	Family      string   `json:"family"`
	Name        string   `json:"name"`
	IBSICode    string   `json:"ibsi_code"`
	Aggregation string   `json:"aggregation"`
	Value       *float64 `json:"value"`
}

// MarshalJSON writes the value as null when it is NaN or infinite.
func (f Feature) MarshalJSON() ([]byte, error) {
	j := featureJSON{Family: f.Family, Name: f.Name, IBSICode: f.IBSICode, Aggregation: f.Aggregation}
	if !math.IsNaN(f.Value) && !math.IsInf(f.Value, 0) {
		v := f.Value
		j.Value = &v
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a null value as NaN.
func (f *Feature) UnmarshalJSON(b []byte) error {
	var j featureJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Feature{Family: j.Family, Name: j.Name, IBSICode: j.IBSICode, Aggregation: j.Aggregation, Value: math.NaN()}
	if j.Value != nil {
		f.Value = *j.Value
	}
	return nil
}
