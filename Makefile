# Spinecast — the two set-up commands are `make run` and `make test` (see README.md).
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
BIN := bin/spinecast
DEMO := .demo

.PHONY: run demo serve-demo models test build lint vet fmtcheck staticcheck bench clean

build:
	$(GO) build -o $(BIN) ./cmd/spinecast

# The main job: serve the embedded demonstration models (trained on a
# simulated registry; not for clinical use) over REST and CDS Hooks on
# 127.0.0.1:8080, with a SQLite audit trail in $(DEMO)/spinecast.db and
# authentication off (--insecure-dev, loopback only), until Ctrl-C. Try:
#   curl -s localhost:8080/v1/models
#   curl -s localhost:8080/cds-services
run: build
	@mkdir -p $(DEMO)
	@echo "serving the embedded demonstration models on http://127.0.0.1:8080 (authentication OFF; Ctrl-C stops)"
	$(BIN) serve --database $(DEMO)/spinecast.db --addr 127.0.0.1:8080 --insecure-dev

# A tour of the research CLI on the bundled vertebral data: train the three
# predictors, inspect, evaluate and score with explanations.
demo: build
	@mkdir -p $(DEMO)
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm elasticnet --out $(DEMO)/enet.json
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm random-forest --trees 300 --out $(DEMO)/forest.json
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm mlp --hidden 16,8 --out $(DEMO)/mlp.json
	$(BIN) inspect $(DEMO)/enet.json
	@echo "evaluate on the training rows (optimistic; the cross-validated figures are in inspect's cross_validation):"
	$(BIN) evaluate --model $(DEMO)/enet.json --data testdata/vertebral_column_2C.csv
	$(BIN) score --model $(DEMO)/forest.json --data testdata/vertebral_column_2C.csv --explain --out $(DEMO)/forest_scores.csv
	@echo "scores with explanations: $(DEMO)/forest_scores.csv"

# Serve the vertebral models that `make demo` trained instead of the
# embedded ones.
serve-demo: demo
	$(BIN) serve --models $(DEMO) --database $(DEMO)/spinecast.db --addr 127.0.0.1:8080 --insecure-dev

# Rebuild the embedded default models (defaultmodels/data) and their cards
# (docs/cards) from a simulated registry; byte-for-byte reproducible.
models:
	$(GO) run ./defaultmodels/internal/gen -out defaultmodels/data -cards docs/cards

fmtcheck:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

lint: fmtcheck vet staticcheck

# ONNX Runtime (for imaging embeddings) comes from the npm package
# onnxruntime-node via scripts/onnxruntime.sh, cached in .cache/; without it
# the embedding tests skip and the rest of Spinecast runs unchanged.
ORT = SPINECAST_ONNXRUNTIME_LIB="$${SPINECAST_ONNXRUNTIME_LIB:-$$(scripts/onnxruntime.sh || true)}"

# Two passes: everything under the race detector, then the simulation-heavy
# evidence tests (thousands of simulated MRIs, about tenfold slower under
# -race, where they skip) without it.
EVIDENCE_TESTS = TestHeldOutAgainstTruth|TestImagingBlockImprovesPrediction

test: lint
	$(ORT) $(GO) test -race -count=1 -timeout 12m ./...
	$(ORT) $(GO) test -count=1 -timeout 10m -v -run '$(EVIDENCE_TESTS)' ./defaultmodels/ ./cohort/

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./predictors/

clean:
	rm -rf bin $(DEMO)
