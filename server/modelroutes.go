package server

import (
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/spinecast/spinecast/models"
)

// ModelSummary is an entry of GET /v1/models.
type ModelSummary struct {
	ID            string   `json:"id"`
	Outcome       string   `json:"outcome"`
	OutcomeVer    string   `json:"outcome_version,omitempty"`
	Positive      string   `json:"positive"`
	Algorithm     string   `json:"algorithm"`
	Version       string   `json:"version"`
	Sha256        string   `json:"sha256"`
	Default       bool     `json:"default"`
	Created       string   `json:"created"`
	Demonstration bool     `json:"demonstration"`
	Notice        string   `json:"notice"`
	Features      []string `json:"features"`
}

// ModelDetail is GET /v1/models/{id}: the summary plus what a model card
// reports from the artifact.
type ModelDetail struct {
	ModelSummary
	ArtifactNotice string                 `json:"artifact_notice,omitempty"`
	FeatureStats   []models.Feature       `json:"feature_statistics"`
	MissingPolicy  string                 `json:"missing_policy"`
	TrainingData   models.TrainingData    `json:"training_data"`
	CV             models.CVSummary       `json:"cross_validation"`
	Calibration    string                 `json:"calibration"`
	Uncertainty    string                 `json:"uncertainty"`
	Hyperparams    models.Hyperparameters `json:"hyperparameters"`
}

func summary(m *Model) ModelSummary {
	a := m.Artifact
	var names []string
	for _, f := range a.Features {
		names = append(names, f.Name)
	}
	return ModelSummary{ID: m.ID, Outcome: m.Outcome, OutcomeVer: m.OutcomeVersion, Positive: a.Positive, Algorithm: a.Algorithm, Version: m.Version,
		Sha256: a.Sha256, Default: m.Default, Created: a.Created.UTC().Format("2006-01-02T15:04:05Z"),
		Demonstration: true, Notice: Notice, Features: names}
}

func (s *Server) listModels(c echo.Context) error {
	out := []ModelSummary{}
	for _, m := range s.models.Models() {
		out = append(out, summary(m))
	}
	return c.JSON(http.StatusOK, map[string]any{"models": out})
}

func (s *Server) model(c echo.Context) (*Model, error) {
	id := c.Param("id")
	m, ok := s.models.Model(id)
	if !ok {
		return nil, errorf(CodeNotFound, "no model %q (GET /v1/models lists them)", id)
	}
	return m, nil
}

func detail(m *Model) ModelDetail {
	a := m.Artifact
	return ModelDetail{ModelSummary: summary(m), ArtifactNotice: a.Notice, FeatureStats: a.Features,
		MissingPolicy: a.MissingPolicy, TrainingData: a.TrainingData, CV: a.CV, Calibration: a.Calibration.Method,
		Uncertainty: a.Uncertainty.Method, Hyperparams: a.Hyperparameters}
}

func (s *Server) getModel(c echo.Context) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, detail(m))
}

// modelCard answers Markdown or HTML by Accept. It is the artifact's own
// facts; the full TRIPOD+AI card (issue 4) replaces it when artifacts carry
// one.
func (s *Server) modelCard(c echo.Context) error {
	m, err := s.model(c)
	if err != nil {
		return err
	}
	md := cardMarkdown(detail(m))
	acc := c.Request().Header.Get(echo.HeaderAccept)
	switch {
	case strings.Contains(acc, mimeHTML):
		return c.HTMLBlob(http.StatusOK, []byte(markdownToHTML(md)))
	case acc == "" || strings.Contains(acc, mimeMarkdown) || strings.Contains(acc, "text/*") || strings.Contains(acc, "*/*"):
		return c.Blob(http.StatusOK, mimeMarkdown+"; charset=utf-8", []byte(md))
	}
	return errorf(CodeNotAcceptable, "the card is available as %s or %s", mimeMarkdown, mimeHTML)
}

func cardMarkdown(d ModelDetail) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Model %s\n\n", d.ID)
	fmt.Fprintf(&b, "> %s\n\n", Notice)
	fmt.Fprintf(&b, "- Outcome: %s (positive class: %s)\n", d.Outcome, d.Positive)
	fmt.Fprintf(&b, "- Algorithm: %s\n- Version: %s\n- sha256: %s\n- Created: %s\n", d.Algorithm, d.Version, d.Sha256, d.Created)
	fmt.Fprintf(&b, "- Training data: %d rows, %d events (sha256 %s)\n", d.TrainingData.Rows, d.TrainingData.Events, d.TrainingData.Sha256)
	fmt.Fprintf(&b, "- Missing data: %s\n- Calibration: %s\n- Uncertainty: %s\n\n", d.MissingPolicy, d.Calibration, d.Uncertainty)
	if cv := d.CV.Calibrated; cv != nil {
		fmt.Fprintf(&b, "## Cross-validated performance (%d folds, calibrated)\n\n", d.CV.Folds)
		fmt.Fprintf(&b, "- AUC %.3f (95 %% CI %.3f–%.3f)\n- Brier %.4f\n\n", cv.AUC, cv.AUCLower, cv.AUCUpper, cv.Brier)
	}
	b.WriteString("## Features\n\n| feature | mean | sd | min | max | median | missing |\n|---|---|---|---|---|---|---|\n")
	for _, f := range d.FeatureStats {
		fmt.Fprintf(&b, "| %s | %.4g | %.4g | %.4g | %.4g | %.4g | %d |\n", f.Name, f.Mean, f.SD, f.Min, f.Max, f.Median, f.MissingCount)
	}
	return b.String()
}

// markdownToHTML renders the card's small Markdown subset (headings, list
// items, quote, table) with every text escaped.
func markdownToHTML(md string) string {
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Model card</title></head><body>\n")
	inList, inTable := false, false
	closeBlocks := func() {
		if inList {
			b.WriteString("</ul>\n")
			inList = false
		}
		if inTable {
			b.WriteString("</table>\n")
			inTable = false
		}
	}
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "## "):
			closeBlocks()
			fmt.Fprintf(&b, "<h2>%s</h2>\n", html.EscapeString(line[3:]))
		case strings.HasPrefix(line, "# "):
			closeBlocks()
			fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(line[2:]))
		case strings.HasPrefix(line, "> "):
			closeBlocks()
			fmt.Fprintf(&b, "<p><strong>%s</strong></p>\n", html.EscapeString(line[2:]))
		case strings.HasPrefix(line, "- "):
			if !inList {
				closeBlocks()
				b.WriteString("<ul>\n")
				inList = true
			}
			fmt.Fprintf(&b, "<li>%s</li>\n", html.EscapeString(line[2:]))
		case strings.HasPrefix(line, "|---"):
		case strings.HasPrefix(line, "|"):
			if !inTable {
				closeBlocks()
				b.WriteString("<table>\n")
				inTable = true
			}
			b.WriteString("<tr>")
			for _, cell := range strings.Split(strings.Trim(line, "|"), "|") {
				fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(strings.TrimSpace(cell)))
			}
			b.WriteString("</tr>\n")
		case strings.TrimSpace(line) == "":
			closeBlocks()
		default:
			closeBlocks()
			fmt.Fprintf(&b, "<p>%s</p>\n", html.EscapeString(line))
		}
	}
	closeBlocks()
	b.WriteString("</body></html>\n")
	return b.String()
}

// OutcomeInfo is an entry of GET /v1/outcomes.
type OutcomeInfo struct {
	ID           string   `json:"id"`
	Version      string   `json:"version,omitempty"`
	Positive     string   `json:"positive"`
	DefaultModel string   `json:"default_model"`
	Models       []string `json:"models"`
}

func (s *Server) listOutcomes(c echo.Context) error {
	out := []OutcomeInfo{}
	for _, o := range s.models.Outcomes() {
		ms := s.models.ForOutcome(o)
		oi := OutcomeInfo{ID: o, Version: ms[0].OutcomeVersion, Positive: ms[0].Artifact.Positive, DefaultModel: ms[0].ID}
		for _, m := range ms {
			oi.Models = append(oi.Models, m.ID)
		}
		out = append(out, oi)
	}
	return c.JSON(http.StatusOK, map[string]any{"outcomes": out})
}

func (s *Server) featureSchema(c echo.Context) error {
	if s.schema == nil {
		return errorf(CodeNotImplemented, "the feature schema arrives with the feature pipeline; GET /v1/models/{id} lists each model's features")
	}
	b, err := s.schema.JSON()
	if err != nil {
		return internal(fmt.Errorf("encode feature schema: %w", err))
	}
	return c.Blob(http.StatusOK, mimeJSON, b)
}
