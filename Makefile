# expectct: `make run` starts the whole system locally, `make test` runs every test.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
TOOLS := $(BIN)/temporal $(BIN)/mailpit $(BIN)/oidc-provider $(BIN)/workflowcheck $(BIN)/staticcheck

.PHONY: all build tools run test lint unit bench clean replay-histories

all: build

build:
	$(GO) build -o $(BIN)/expectct ./cmd/expectct

# The Temporal CLI (dev server), Mailpit and the checkers are pinned in their
# own modules under tools/ so the main go.mod stays lean. Built once, reused.
tools: $(TOOLS) compose-validator

$(BIN)/temporal: tools/temporal/go.mod
	cd tools/temporal && $(GO) build -o $(BIN)/ tool

$(BIN)/mailpit: tools/mailpit/go.mod
	cd tools/mailpit && $(GO) build -o $(BIN)/ tool

# The local OpenID provider (people and service accounts of the dev stack and
# the tests) is ours, in the main module.
$(BIN)/oidc-provider: $(wildcard tools/oidc/*.go) go.mod
	$(GO) build -o $@ ./tools/oidc

$(BIN)/workflowcheck $(BIN)/staticcheck: tools/check/go.mod
	cd tools/check && $(GO) build -o $(BIN)/ tool

# docker-compose validates docker-compose.yml in the tests (no engine needed).
.PHONY: compose-validator
compose-validator:
	@command -v docker-compose >/dev/null || { \
	  echo "installing docker-compose (Debian package) to validate docker-compose.yml"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null) \
	  || { echo "could not install docker-compose: run 'apt-get install docker-compose' as root"; exit 1; }; }

# pdftotext and pdftoppm (Debian package poppler-utils) read the letters'
# PDFs back in the tests and picture one for the docs.
.PHONY: pdf-tools
pdf-tools:
	@command -v pdftotext >/dev/null && command -v pdftoppm >/dev/null || { \
	  echo "installing poppler-utils (Debian package) to check the letters' PDFs"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null) \
	  || { echo "could not install poppler-utils: run 'apt-get install poppler-utils' as root"; exit 1; }; }

# Least privilege on a workstation too: unless DATABASE_URL or
# EXPECTCT_MIGRATE_DATABASE_URL is set, the local superuser migrates and the
# API and worker log in as expectct_dev, a member of expectct_app (created by
# the migration; trust authentication on the loopback, as the defaults assume).
DEV_OWNER_URL ?= postgres://postgres@127.0.0.1:5432/expectct?sslmode=disable
DEV_APP_URL   ?= postgres://expectct_dev@127.0.0.1:5432/expectct?sslmode=disable

run: tools build
	@if [ -z "$$DATABASE_URL$$EXPECTCT_MIGRATE_DATABASE_URL" ]; then \
	  export EXPECTCT_MIGRATE_DATABASE_URL='$(DEV_OWNER_URL)' DATABASE_URL='$(DEV_APP_URL)'; fi; \
	exec $(BIN)/expectct dev

lint: tools
	test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(BIN)/staticcheck ./...
	$(BIN)/workflowcheck ./workflows/... ./internal/webhooks/...

test: tools pdf-tools build lint
	$(GO) test -count=1 -timeout 30m ./...

bench: tools build
	$(BIN)/expectct bench --standalone

clean:
	rm -rf $(BIN) .data
