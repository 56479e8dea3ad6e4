# expectct: `make run` starts the whole system locally, `make test` runs every test.
SHELL := /bin/bash
GO    ?= go
BIN   := $(CURDIR)/bin
TOOLS := $(BIN)/temporal $(BIN)/mailpit $(BIN)/oidc-provider $(BIN)/workflowcheck $(BIN)/staticcheck

.PHONY: all build tools run test lint unit bench clean replay-histories web-assets chromium

all: build

build: web-assets
	$(GO) build -o $(BIN)/expectct ./cmd/expectct

# The web pages' front-end assets: the State's design system (DSFR) and, for
# the browser tests, axe-core, both pinned by tools/web-assets/package-lock.json.
# npm ci runs again only when the lock (or package.json) is newer than its stamp;
# the part of the DSFR a page needs is then copied where internal/web embeds it
# (internal/web/assets/dsfr/, not committed). Files whose names start with a
# dot, such as the stamps, are left out by go:embed.
WEB_ASSETS := tools/web-assets
DSFR_DIST  := $(WEB_ASSETS)/node_modules/@gouvfr/dsfr/dist
DSFR_OUT   := internal/web/assets/dsfr

web-assets: $(DSFR_OUT)/.copied

$(WEB_ASSETS)/node_modules/.installed: $(WEB_ASSETS)/package.json $(WEB_ASSETS)/package-lock.json $(WEB_ASSETS)/.dsfr.yml
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 and npm to build the web assets"; exit 1; }
	cd $(WEB_ASSETS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The CSS files' relative url(...)s point into fonts/ and icons/ (utility.min.css
# from utility/ into ../icons/); favicon/ is what the pages' <head> links.
$(DSFR_OUT)/.copied: $(WEB_ASSETS)/node_modules/.installed
	rm -rf $(DSFR_OUT)
	mkdir -p $(DSFR_OUT)/utility
	cp $(DSFR_DIST)/dsfr.min.css $(DSFR_DIST)/dsfr.module.min.js $(DSFR_DIST)/dsfr.nomodule.min.js $(DSFR_OUT)/
	cp $(DSFR_DIST)/utility/utility.min.css $(DSFR_OUT)/utility/
	cp -R $(DSFR_DIST)/fonts $(DSFR_DIST)/icons $(DSFR_DIST)/favicon $(DSFR_OUT)/
	touch $@

# Debian's Chromium and its driver, for the browser tests (internal/browsertest).
chromium:
	@test -x /usr/bin/chromium && command -v chromedriver >/dev/null || { \
	  echo "installing chromium and chromium-driver (Debian packages) for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || { echo "could not install chromium: run 'apt-get install chromium chromium-driver' as root"; exit 1; }; }

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

test: tools pdf-tools chromium build lint
	$(GO) test -count=1 -timeout 30m ./...

bench: tools build
	$(BIN)/expectct bench --standalone

clean:
	rm -rf $(BIN) .data $(WEB_ASSETS)/node_modules $(DSFR_OUT)
