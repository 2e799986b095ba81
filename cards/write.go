package cards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Files written by WriteDir.
const (
	JSONFile        = "card.json"
	MarkdownFile    = "card.md"
	CalibrationFile = "calibration.png"
	ROCFile         = "roc.png"
)

// WriteDir writes card.json, card.md, calibration.png and roc.png into dir
// (created if needed).
func (c *Card) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	var md bytes.Buffer
	c.WriteMarkdown(&md)
	cal, err := c.CalibrationPlot()
	if err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	roc, err := c.ROCPlot()
	if err != nil {
		return fmt.Errorf("write card: %w", err)
	}
	for name, b := range map[string][]byte{JSONFile: js.Bytes(), MarkdownFile: md.Bytes(), CalibrationFile: cal, ROCFile: roc} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("write card: %w", err)
		}
	}
	return nil
}

func f3(v float64) string { return fmt.Sprintf("%.3f", v) }

func optF(v *float64) string {
	if v == nil {
		return "not estimable"
	}
	return f3(*v)
}

// WriteMarkdown writes the card as Markdown (card.md), its plots referred
// to by their file names.
func (c *Card) WriteMarkdown(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("# Model card: %s\n\n", c.Model.ID)
	p("> **%s**\n\n", c.Notice)
	if c.ModelNotice != "" && c.ModelNotice != c.Notice {
		p("Artifact notice: %s\n\n", c.ModelNotice)
	}
	p("## Model\n\n| | |\n|---|---|\n")
	p("| Algorithm | %s |\n| Version (created) | %s |\n| sha256 | `%s` |\n| Calibration | %s |\n| Uncertainty | %s |\n",
		c.Model.Algorithm, c.Model.Created, c.Model.Sha256, c.Model.Calibration, c.Model.Uncertainty)
	hp, _ := json.Marshal(c.Model.Hyperparameters)
	p("| Hyperparameters | `%s` |\n\n", hp)
	p("## Intended use\n\n%s\n\n**Intended users:** %s\n\n", c.IntendedUse, c.IntendedUsers)
	p("## Outcome\n\n")
	if c.Outcome.Registered {
		p("`%s` version %s: %s.\n\n- Rule: %s\n- Applies to: %s\n- Source: %s (threshold verified: %v)\n\n",
			c.Outcome.ID, c.Outcome.Version, c.Outcome.Name, c.Outcome.Rule, c.Outcome.AppliesTo, c.Outcome.Source, c.Outcome.Verified)
	} else {
		p("Column `%s` (not a registered Spinecast outcome definition).\n\n", c.Outcome.Column)
	}
	p("## Data\n\n| | Training | Evaluation (held out) |\n|---|---|---|\n")
	p("| Source | %s | %s |\n", c.TrainingData.Source, orDash(c.EvaluationData.File))
	p("| Dates | %s | |\n", c.TrainingData.Dates)
	p("| sha256 | `%s` | `%s` |\n", orDash(c.TrainingData.Sha256), orDash(c.EvaluationData.Sha256))
	p("| n | %d | %d (%d rows without the outcome skipped) |\n", c.TrainingData.N, c.EvaluationData.N, c.EvaluationData.Skipped)
	p("| Events | %d | %d |\n\n", c.TrainingData.Events, c.EvaluationData.Events)
	if cv := c.TrainingData.CV; cv != nil {
		p("Cross-validated on the training data: AUC %s (95 %% CI %s–%s), Brier %.4f, ECE %s.\n\n", f3(cv.AUC), f3(cv.AUCLower), f3(cv.AUCUpper), cv.Brier, f3(cv.ECE))
	}
	p("## Predictors\n\n%d inputs: ", len(c.Predictors))
	names := make([]string, len(c.Predictors))
	for i, f := range c.Predictors {
		names[i] = "`" + f.Name + "`"
		if f.MissingIndicator {
			names[i] += "*"
		}
	}
	p("%s.\n\n\\* with a missing-value indicator.\n\n", strings.Join(names, ", "))
	p("## Missing data\n\n%s\n\n", c.MissingData)
	p("## Performance on the held-out data\n\n")
	p("| Metric | Value |\n|---|---|\n")
	p("| AUC (95 %% CI, DeLong) | %s (%s–%s) |\n", f3(c.Discrimination.AUC), f3(c.Discrimination.AUCLower), f3(c.Discrimination.AUCUpper))
	p("| Brier score | %.4f |\n", c.Discrimination.Brier)
	p("| Calibration intercept | %s |\n| Calibration slope | %s |\n", optF(c.Calibration.Intercept), optF(c.Calibration.Slope))
	p("| ECE, 10 bins (95 %% CI, bootstrap) | %s (%s–%s) |\n", f3(c.Calibration.ECE), f3(c.Calibration.ECELower), f3(c.Calibration.ECEUpper))
	if o := c.Oracle; o != nil {
		p("| Oracle AUC (true probabilities) | %s (%s–%s) |\n", f3(o.AUC), f3(o.AUCLower), f3(o.AUCUpper))
		p("| Mean \\|p − true p\\| | %.4f |\n", o.MeanAbsoluteError)
	}
	p("\n![Calibration curve](%s) ![ROC curve](%s)\n\n", CalibrationFile, ROCFile)
	p("## Performance by subgroup\n\n| Group | Level | n | Events | AUC (95 %% CI) | Observed | Mean predicted | ECE |\n|---|---|---|---|---|---|---|---|\n")
	for _, s := range c.Subgroups {
		auc := "–"
		if s.Note == "" {
			auc = fmt.Sprintf("%s (%s–%s)", f3(s.AUC), f3(s.AUCLower), f3(s.AUCUpper))
		}
		p("| %s | %s | %d | %d | %s | %s | %s | %s |\n", s.Group, s.Level, s.N, s.Events, auc, f3(s.ObservedRate), f3(s.MeanPredicted), f3(s.ECE))
	}
	p("\n## Limitations\n\n")
	for _, l := range c.Limitations {
		p("- %s\n", l)
	}
	if len(c.Notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range c.Notes {
			p("- %s\n", n)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func render(p *plot.Plot) ([]byte, error) {
	wt, err := p.WriterTo(5*vg.Inch, 5*vg.Inch, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func diagonal() *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	l.Color = color.Gray{Y: 150}
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	return l
}

// CalibrationPlot draws the calibration curve (observed rate against mean
// predicted probability per bin) with its Wilson 95 % band, as PNG.
func (c *Card) CalibrationPlot() ([]byte, error) {
	p := plot.New()
	p.Title.Text = "Calibration: " + c.Model.ID
	p.X.Label.Text = "Predicted probability"
	p.Y.Label.Text = "Observed rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	bins := c.Calibration.Bins
	if len(bins) > 0 {
		band := make(plotter.XYs, 0, 2*len(bins))
		for _, b := range bins {
			band = append(band, plotter.XY{X: b.MeanPredicted, Y: b.CIUpper})
		}
		for i := len(bins) - 1; i >= 0; i-- {
			band = append(band, plotter.XY{X: bins[i].MeanPredicted, Y: bins[i].CILower})
		}
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return nil, fmt.Errorf("calibration band: %w", err)
		}
		poly.Color = color.RGBA{R: 170, G: 195, B: 235, A: 255}
		poly.LineStyle.Color = color.Transparent
		pts := make(plotter.XYs, len(bins))
		for i, b := range bins {
			pts[i] = plotter.XY{X: b.MeanPredicted, Y: b.ObservedRate}
		}
		line, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, fmt.Errorf("calibration curve: %w", err)
		}
		line.Color, sc.Color = color.RGBA{B: 160, A: 255}, color.RGBA{B: 160, A: 255}
		sc.Radius = vg.Points(2)
		p.Add(poly, diagonal(), line, sc)
		p.Legend.Add("observed rate per bin", line)
		p.Legend.Add("95% CI (Wilson)", poly)
		p.Legend.Top, p.Legend.Left = true, true
		p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), vg.Points(-8)
	}
	return render(p)
}

// ROCPlot draws the ROC curve as PNG.
func (c *Card) ROCPlot() ([]byte, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("ROC: AUC %.3f (%.3f–%.3f)", c.Discrimination.AUC, c.Discrimination.AUCLower, c.Discrimination.AUCUpper)
	p.X.Label.Text = "False positive rate"
	p.Y.Label.Text = "True positive rate"
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	pts := make(plotter.XYs, 0, len(c.ROC))
	for _, r := range thin(c.ROC, 400) {
		pts = append(pts, plotter.XY{X: r.FPR, Y: r.TPR})
	}
	if len(pts) > 0 {
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("roc curve: %w", err)
		}
		l.Color = color.RGBA{R: 180, A: 255}
		p.Add(diagonal(), l)
	}
	return render(p)
}
