# Spinecast — the two set-up commands are `make run` and `make test` (see README.md).
GO ?= go
STATICCHECK_VERSION ?= v0.8.2
BIN := bin/spinecast
DEMO := .demo

.PHONY: run serve demo-models test build lint vet fmtcheck staticcheck bench clean

build:
	$(GO) build -o $(BIN) ./cmd/spinecast

# The main job: train the three predictors on the bundled vertebral data,
# evaluate and score them, then serve them over HTTP on 127.0.0.1:8080 with
# authentication off (--insecure-dev, loopback only) until Ctrl-C.
run: demo-models
	$(BIN) inspect $(DEMO)/enet.json
	@echo "evaluate on the training rows (optimistic; the cross-validated figures are in inspect's cross_validation):"
	$(BIN) evaluate --model $(DEMO)/enet.json --data testdata/vertebral_column_2C.csv
	$(BIN) score --model $(DEMO)/forest.json --data testdata/vertebral_column_2C.csv --explain --out $(DEMO)/forest_scores.csv
	@echo "scores with explanations: $(DEMO)/forest_scores.csv"
	@$(MAKE) --no-print-directory serve

demo-models: build
	@mkdir -p $(DEMO)
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm elasticnet --out $(DEMO)/enet.json
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm random-forest --trees 300 --out $(DEMO)/forest.json
	$(BIN) train --data testdata/vertebral_column_2C.csv --target status --positive Abnormal --algorithm mlp --hidden 16,8 --out $(DEMO)/mlp.json

# Serve the models in $(DEMO) (make demo-models first) with a SQLite audit
# trail in $(DEMO)/spinecast.db. Try:
#   curl -s localhost:8080/v1/models
#   curl -s -XPOST localhost:8080/v1/predictions -H 'Content-Type: application/json' \
#     -d '{"features":{"pelvic_incidence":63,"pelvic_tilt":22,"lumbar_lordosis_angle":39,"sacral_slope":40,"pelvic_radius":98,"degree_spondylolisthesis":-0.25}}'
serve: build
	@test -f $(DEMO)/enet.json || $(MAKE) --no-print-directory demo-models
	@echo "serving $(DEMO)/*.json on http://127.0.0.1:8080 (authentication OFF, demonstration only; Ctrl-C stops)"
	$(BIN) serve --models $(DEMO) --database $(DEMO)/spinecast.db --addr 127.0.0.1:8080 --insecure-dev

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
