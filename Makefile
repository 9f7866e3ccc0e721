# cueroom — see README.md. `make run` and `make test` do all the set-up.
GO  ?= go
BIN := bin/cueroom

.PHONY: run build test bench deps clean

build: deps
	$(GO) build -o $(BIN) ./cmd/cueroom

run: build
	./$(BIN) run

deps:
	@bash scripts/deps.sh run

test:
	@bash scripts/deps.sh test
	@bash scripts/liblsl.sh >/dev/null || [ $$? -eq 3 ]
	@bash scripts/test.sh

bench: deps
	@bash scripts/test.sh bench

clean:
	rm -rf bin
