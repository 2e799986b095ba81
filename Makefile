# Spinecast — the two set-up commands are `make run` and `make test` (see README.md).
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
BIN := bin/spinecast
DEMO := .demo

.PHONY: run test build lint vet fmtcheck staticcheck bench clean

build:
	$(GO) build -o $(BIN) ./cmd/spinecast

# The main job at this stage of the project: train the three predictors on the
# bundled vertebral data, evaluate them and score the data with explanations.
# (The HTTP server arrives with issue 5; this target will start it then.)
run: build
	@mkdir -p $(DEMO)
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm elasticnet --out $(DEMO)/enet.json
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm random-forest --trees 300 --out $(DEMO)/forest.json
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm mlp --hidden 16,8 --out $(DEMO)/mlp.json
	$(BIN) inspect $(DEMO)/enet.json
	@echo "evaluate on the training rows (optimistic; the cross-validated figures are in inspect's cross_validation):"
	$(BIN) evaluate --model $(DEMO)/enet.json --data testdata/vertebral_column_2C.csv
	$(BIN) score --model $(DEMO)/forest.json --data testdata/vertebral_column_2C.csv --explain --out $(DEMO)/forest_scores.csv
	@echo "scores with explanations: $(DEMO)/forest_scores.csv"

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

test: lint
	$(ORT) $(GO) test -race -count=1 -timeout 12m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./predictors/

clean:
	rm -rf bin $(DEMO)
