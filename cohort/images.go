package cohort

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spinecast/spinecast/imaging"
)

// The simulated MRI grid: an axial stack (i to the patient's left, j
// posterior, k superior: LPS, identity direction), centred on (0, 0, 0) mm,
// the middle of the imaged disc level when no shift is drawn.
var imageGeometry = imaging.Geometry{
	Dims:      [3]int{64, 64, 16},
	Spacing:   [3]float64{0.8, 0.8, 4},
	Origin:    [3]float64{-31.5 * 0.8, -31.5 * 0.8, -7.5 * 4},
	Direction: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1},
}

// roiSlices is the number of slices of the region of interest: the dural
// sac on the roiSlices slices nearest the disc's mid-plane.
const roiSlices = 5

// T2-like tissue signals (arbitrary units, before gain, shading and noise).
const (
	t2CSF      = 1000
	t2Nucleus  = 900 // healthy nucleus pulposus
	t2Annulus  = 300
	t2Marrow   = 450 // vertebral body
	t2Muscle   = 280
	t2Arch     = 380 // posterior arch (lamina, facets)
	t2Ligament = 200 // ligamentum flavum, epidural space, bulging disc
	t2Root     = 380
)

// imageStream is patient i's own random stream for everything about its
// MRI. Generate's streams are PCG(seed, i+1), which never set bit 63, so
// the image draws leave every other output of Generate unchanged.
func imageStream(seed uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 1<<63|uint64(i)))
}

// MRI is a patient's simulated lumbar MRI study (set by AddImages). The
// voxels are not kept: Cohort.Image renders them again, identically.
type MRI struct {
	// StudyUID and SeriesUID are DICOM UIDs of the form "2.25.<decimal>"
	// (a 128-bit number from the patient's image stream, ITU-T X.667).
	StudyUID  string
	SeriesUID string
	// StudyDate is on or before the index date.
	StudyDate time.Time
}

// uid225 returns a "2.25." DICOM UID from two random words.
func uid225(r *rand.Rand) string {
	hi, lo := r.Uint64(), r.Uint64()
	x := new(big.Int).SetUint64(hi)
	x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(lo))
	return "2.25." + x.String()
}

// drawMRI draws whether patient i has an MRI and its identifiers; r is
// then positioned for the image itself.
func drawMRI(ip *ImageParams, pt *Patient, r *rand.Rand) *MRI {
	if !(r.Float64() < ip.MRIP) {
		return nil
	}
	m := &MRI{StudyDate: day(pt.Index, -r.IntN(ip.StudyDaysMax+1))}
	m.StudyUID = uid225(r)
	m.SeriesUID = uid225(r)
	return m
}

// smooth is the partial-volume weight of a voxel centre at signed distance
// d (mm, negative inside) from a boundary: 1 inside, 0 outside, linear
// over one in-plane voxel.
func smooth(d float64) float64 { return clamp(0.5-d/0.8, 0, 1) }

// ellipseDist is the distance (mm, negative inside) from (x, y) to the
// ellipse of centre (cx, cy) and semi-axes (a, b), along the ray from the
// centre, and the normalised radius ρ (≤ 1 inside).
func ellipseDist(x, y, cx, cy, a, b float64) (d, rho float64) {
	dx, dy := x-cx, y-cy
	rho = math.Hypot(dx/a, dy/b)
	if rho == 0 {
		return -math.Min(a, b), 0
	}
	return math.Hypot(dx, dy) * (1 - 1/rho), rho
}

func mix(a, b, w float64) float64 { return a + w*(b-a) }

// renderMRI draws the image of a patient with phenotype z from r (after
// drawMRI) and returns the volume and the dural-sac mask.
func renderMRI(ip *ImageParams, z float64, r *rand.Rand) (*imaging.Volume, *imaging.Mask) {
	g := imageGeometry
	// Anatomy and nuisance, in a fixed order.
	size := math.Exp(ip.CanalSizeSD * r.NormFloat64())
	aspect := ip.CanalAspect * math.Exp(ip.CanalAspectSD*r.NormFloat64())
	narrowNoise := ip.NarrowingSD * r.NormFloat64()
	span := ip.NarrowingSpanMM * math.Exp(ip.NarrowingSpanSD*r.NormFloat64())
	nucleusNoise := ip.NucleusSD * r.NormFloat64()
	shift := [3]float64{}
	for a := range shift {
		shift[a] = ip.ShiftMM * (2*r.Float64() - 1)
	}
	gain := math.Exp(ip.GainSD * r.NormFloat64())
	sigma := ip.NoiseSD * math.Exp(ip.NoiseSDLog*r.NormFloat64())
	bias := ip.BiasMax * (2*r.Float64() - 1)
	roots := make([][2]float64, ip.Roots) // relative polar positions in the sac
	for k := range roots {
		rho, th := 0.75*math.Sqrt(r.Float64()), 2*math.Pi*r.Float64()
		roots[k] = [2]float64{rho * math.Cos(th), rho * math.Sin(th)}
	}

	// Phenotype-driven quantities.
	narrow := clamp(ip.Narrowing+ip.NarrowingPerSD*z+narrowNoise, 0, ip.NarrowingMax)
	discH := clamp(ip.DiscHeightMM*(1-ip.DiscLossPerSD*z), 3, 14)
	nucleus := t2Nucleus * clamp(ip.Nucleus-ip.NucleusPerSD*z+nucleusNoise, 0.15, 1.1)

	area := ip.CanalAreaMM2 * size
	sacB := math.Sqrt(area / (math.Pi * aspect)) // anteroposterior semi-axis
	sacA := aspect * sacB                        // lateral semi-axis
	cx, cy, zd := shift[0], 6+shift[1], shift[2]
	boneA, boneB := 1.2*sacA, 1.2*sacB // bony canal
	bodyCY := cy - boneB - 14          // vertebral body / disc centre (semi-axes 20, 14)
	k0 := int(math.Round((zd-g.Origin[2])/g.Spacing[2])) - roiSlices/2
	k0 = max(0, min(g.Dims[2]-roiSlices, k0))

	v := &imaging.Volume{Geometry: g, Data: make([]float64, g.Len())}
	m := &imaging.Mask{Geometry: g, In: make([]bool, g.Len())}
	for k := 0; k < g.Dims[2]; k++ {
		zz := g.Origin[2] + float64(k)*g.Spacing[2]
		dz := zz - zd
		scale := math.Sqrt(1 - narrow*math.Exp(-dz*dz/(2*span*span)))
		a, b := sacA*scale, sacB*scale
		// Disc fraction of this 4 mm slice (partial volume along z).
		wDisc := clamp((discH/2-math.Abs(dz))/g.Spacing[2]+0.5, 0, 1)
		for j := 0; j < g.Dims[1]; j++ {
			y := g.Origin[1] + float64(j)*g.Spacing[1]
			for i := 0; i < g.Dims[0]; i++ {
				x := g.Origin[0] + float64(i)*g.Spacing[0]
				s := float64(t2Muscle)
				if dy := y - (cy + boneB); dy > -2 && dy < 10 && math.Abs(x-cx) < 22 {
					s = t2Arch
				}
				if d, rho := ellipseDist(x, y, cx, bodyCY, 20, 14); rho < 1.3 {
					disc := mix(t2Annulus, nucleus, smooth(ellipseDist2(x, y, cx, bodyCY, 11, 7.7)))
					s = mix(s, mix(t2Marrow, disc, wDisc), smooth(d))
				}
				db, _ := ellipseDist(x, y, cx, cy, boneA, boneB)
				s = mix(s, t2Ligament, smooth(db))
				ds, rho := ellipseDist(x, y, cx, cy, a, b)
				if ws := smooth(ds); ws > 0 {
					in := float64(t2CSF)
					for _, rt := range roots {
						dr := math.Hypot(x-(cx+rt[0]*a), y-(cy+rt[1]*b)) - ip.RootRadiusMM
						in = mix(in, t2Root, smooth(dr))
					}
					s = mix(s, in, ws)
				}
				s *= gain * (1 + bias*(y/25.6))
				n1, n2 := r.NormFloat64(), r.NormFloat64()
				idx := g.Index(i, j, k)
				v.Data[idx] = math.Hypot(s+sigma*n1, sigma*n2) // Rician magnitude
				m.In[idx] = rho <= 1 && k >= k0 && k < k0+roiSlices
			}
		}
	}
	return v, m
}

// ellipseDist2 is ellipseDist without ρ.
func ellipseDist2(x, y, cx, cy, a, b float64) float64 {
	d, _ := ellipseDist(x, y, cx, cy, a, b)
	return d
}

// ImageOptions configures AddImages. The zero value (or nil) simulates an
// MRI for every patient drawn to have one, with the plain-Go encoder on
// runtime.GOMAXPROCS(0) workers.
type ImageOptions struct {
	// Workers bounds the patients simulated concurrently; 0 means
	// runtime.GOMAXPROCS(0). Results do not depend on it.
	Workers int
	// Encoder computes the embedding columns; nil means the plain-Go
	// imaging.DefaultEncoder (no cgo, no ONNX Runtime).
	Encoder imaging.SchemaEncoder
	// Only, when set, restricts the MRIs to the patients it accepts (the
	// others are left as they are: without an earlier AddImages, with a
	// missing imaging block). A patient's MRI, image and features do not
	// depend on it.
	Only func(*Patient) bool
	// Progress, when set, is called after each patient considered, with
	// the number done and the total; calls are serialised.
	Progress func(done, total int)
}

// AddImages simulates each patient's lumbar MRI (with probability
// Params.Image.MRIP), sets Patient.MRI and fills the imaging block of
// Patient.Features with imaging.SchemaExtractor (imaging_missing = 0). The
// image of patient i depends only on the seed, i, its phenotype and the
// parameters, through its own random stream, so every other column of
// the cohort is unchanged. It stops with ctx's error when ctx is done.
func (co *Cohort) AddImages(ctx context.Context, opts *ImageOptions) error {
	var o ImageOptions
	if opts != nil {
		o = *opts
	}
	p := co.params
	if p == nil {
		p = DefaultParams()
	}
	if o.Encoder == nil {
		enc, err := imaging.NewEncoder(imaging.DefaultEncoder)
		if err != nil {
			return fmt.Errorf("add images: %w", err)
		}
		o.Encoder = enc
	}
	x, err := imaging.NewSchemaExtractor(o.Encoder, nil)
	if err != nil {
		return fmt.Errorf("add images: %w", err)
	}
	schema := co.schema()
	cols := map[string]int{}
	for _, name := range imaging.SchemaColumns() {
		if cols[name] = schema.Index(name); cols[name] < 0 {
			return fmt.Errorf("add images: the feature schema has no column %s", name)
		}
	}
	missing := schema.Index("imaging_missing")
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := len(co.Patients)
	workers = max(1, min(workers, n))
	var next, done atomic.Int64
	var failed atomic.Bool // stops the other workers after an error
	var mu sync.Mutex
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed.Load() {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
				pt := &co.Patients[i]
				if o.Only == nil || o.Only(pt) {
					r := imageStream(co.Seed, i)
					if mri := drawMRI(&p.Image, pt, r); mri != nil {
						v, m := renderMRI(&p.Image, pt.Imaging, r)
						sf, err := x.Extract(v, m)
						if err != nil {
							errs[w] = fmt.Errorf("patient %s: %w", pt.ID, err)
							failed.Store(true)
							return
						}
						for name, val := range sf.Values {
							pt.Features[cols[name]] = val
						}
						pt.Features[missing] = 0
						pt.MRI = mri
					}
				}
				if o.Progress != nil {
					d := int(done.Add(1))
					mu.Lock()
					o.Progress(d, n)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("add images: %w", err)
	}
	return nil
}

// Image renders patient i's MRI and its region of interest (the dural sac
// on the five slices nearest the disc's mid-plane): the same voxels
// AddImages extracted the features from. It is an error when patient i has
// no MRI (AddImages not run, or none drawn).
func (co *Cohort) Image(i int) (*imaging.Volume, *imaging.Mask, error) {
	if i < 0 || i >= len(co.Patients) || co.Patients[i].MRI == nil {
		return nil, nil, fmt.Errorf("image of patient %d: no MRI", i)
	}
	p := co.params
	if p == nil {
		p = DefaultParams()
	}
	r := imageStream(co.Seed, i)
	if drawMRI(&p.Image, &co.Patients[i], r) == nil {
		return nil, nil, fmt.Errorf("image of patient %d: no MRI drawn (other parameters?)", i)
	}
	v, m := renderMRI(&p.Image, co.Patients[i].Imaging, r)
	return v, m, nil
}

// HasImages reports whether any patient has a simulated MRI.
func (co *Cohort) HasImages() bool {
	for i := range co.Patients {
		if co.Patients[i].MRI != nil {
			return true
		}
	}
	return false
}

// WriteImages writes, when any patient has an MRI, dir/images.csv
// (patient_id, series_uid, image, mask, study_date, study; paths relative
// to dir; study is the ImagingStudy reference of the FHIR export)
// and dir/images/<patient_id>.nii.gz and <patient_id>_mask.nii.gz (the mask
// as a 0/1 label map on the image's grid), with workers goroutines (0:
// runtime.GOMAXPROCS(0)). Without images it writes nothing.
func (co *Cohort) WriteImages(dir string, workers int) error {
	if !co.HasImages() {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return fmt.Errorf("write images: %w", err)
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(co.Patients) {
					return
				}
				if co.Patients[i].MRI == nil {
					continue
				}
				if errs[w] = co.writeImage(dir, i); errs[w] != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("write images: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "images.csv"))
	if err != nil {
		return fmt.Errorf("write images: %w", err)
	}
	bw := bufio.NewWriter(f)
	bw.WriteString("patient_id,series_uid,image,mask,study_date,study\n")
	for i := range co.Patients {
		p := &co.Patients[i]
		if p.MRI != nil {
			fmt.Fprintf(bw, "%s,%s,images/%s.nii.gz,images/%s_mask.nii.gz,%s,ImagingStudy/%s\n", p.ID, p.MRI.SeriesUID, p.ID, p.ID,
				date(p.MRI.StudyDate), imagingStudyID(p))
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write images: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write images: %w", err)
	}
	return nil
}

func (co *Cohort) writeImage(dir string, i int) error {
	v, m, err := co.Image(i)
	if err != nil {
		return err
	}
	lab := &imaging.Volume{Geometry: m.Geometry, Data: make([]float64, len(m.In))}
	for k, in := range m.In {
		if in {
			lab.Data[k] = 1
		}
	}
	id := co.Patients[i].ID
	for name, vol := range map[string]*imaging.Volume{id + ".nii.gz": v, id + "_mask.nii.gz": lab} {
		f, err := os.Create(filepath.Join(dir, "images", name))
		if err != nil {
			return err
		}
		if err := imaging.WriteNIfTI(f, vol, true); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// FHIR R4 ImagingStudy, the elements written.
type imagingStudy struct {
	ResourceType      string       `json:"resourceType"`
	ID                string       `json:"id"`
	Identifier        []identifier `json:"identifier"`
	Status            string       `json:"status"`
	Modality          []coding     `json:"modality"`
	Subject           reference    `json:"subject"`
	Started           string       `json:"started"`
	NumberOfSeries    int          `json:"numberOfSeries"`
	NumberOfInstances int          `json:"numberOfInstances"`
	Series            []series     `json:"series"`
}

type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

type series struct {
	UID               string `json:"uid"`
	Number            int    `json:"number"`
	Modality          coding `json:"modality"`
	Description       string `json:"description"`
	NumberOfInstances int    `json:"numberOfInstances"`
	BodySite          coding `json:"bodySite"`
}

// Codes of the ImagingStudy: modality MR from DICOM's DCM code system
// (PS3.16 CID 29), body site "Lumbar spine structure" from SNOMED CT (also
// DICOM PS3.16 CID 4031 Common Anatomic Regions).
var (
	modalityMR  = coding{System: "http://dicom.nema.org/resources/ontology/DCM", Code: "MR", Display: "Magnetic Resonance"}
	lumbarSpine = coding{System: "http://snomed.info/sct", Code: "122496007", Display: "Lumbar spine structure"}
)

// writeImagingStudies writes dir/ImagingStudy.ndjson: one available
// ImagingStudy per patient with an MRI (one MR series of one instance per
// slice, body site lumbar spine, started on the study date).
func (co *Cohort) writeImagingStudies(dir string) error {
	f, err := os.Create(filepath.Join(dir, "ImagingStudy.ndjson"))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	slices := imageGeometry.Dims[2]
	for i := range co.Patients {
		p := &co.Patients[i]
		if p.MRI == nil {
			continue
		}
		b, err := json.Marshal(&imagingStudy{
			ResourceType: "ImagingStudy", ID: imagingStudyID(p),
			Identifier: []identifier{{System: "urn:dicom:uid", Value: "urn:oid:" + p.MRI.StudyUID}},
			Status:     "available", Modality: []coding{modalityMR},
			Subject: reference{Reference: "Patient/" + p.ID}, Started: date(p.MRI.StudyDate),
			NumberOfSeries: 1, NumberOfInstances: slices,
			Series: []series{{UID: p.MRI.SeriesUID, Number: 1, Modality: modalityMR, Description: "AX T2 lumbar spine (simulated)",
				NumberOfInstances: slices, BodySite: lumbarSpine}},
		})
		if err != nil {
			f.Close()
			return err
		}
		bw.Write(append(b, '\n'))
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// imagingStudyID is the id of a patient's ImagingStudy in the FHIR export.
func imagingStudyID(p *Patient) string { return p.ID + "-mri" }
