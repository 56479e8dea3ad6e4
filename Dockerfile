# The expectct image: one static binary, run as `expectct migrate | api |
# worker | ...`. Build with `docker compose build` or
# `docker build -t daect/expectct:<version> .`.

# Assets stage: the State's design system (DSFR) the web pages embed, from
# the npm lock, copied as `make web-assets` does on a workstation.
FROM node:20-bookworm AS assets
WORKDIR /src
COPY Makefile ./
COPY tools/web-assets tools/web-assets
RUN make web-assets

# Build stage: the Go toolchain the module asks for (go.mod: go 1.26).
FROM golang:1.26.8-bookworm AS build

# Never download another toolchain: build with this image's Go or fail.
ENV CGO_ENABLED=0 \
    GOTOOLCHAIN=local \
    GOFLAGS=-mod=readonly

WORKDIR /src

# Dependencies first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .
COPY --from=assets /src/internal/web/assets/dsfr internal/web/assets/dsfr
RUN go build -trimpath -ldflags="-s -w" -o /out/expectct ./cmd/expectct

# Runtime stage: no shell, no package manager; CA certificates and time zone
# data included. Distroless publishes no version tags: to freeze the base,
# replace the tag with the digest your registry mirror serves
# (gcr.io/distroless/static-debian12@sha256:...).
FROM gcr.io/distroless/static-debian12:nonroot

LABEL org.opencontainers.image.title="expectct" \
      org.opencontainers.image.description="EXPE-CT workflow engine (DAECT, French Ministry for Europe and Foreign Affairs)"

COPY --from=build /out/expectct /expectct

# 65532 is distroless's "nonroot" user; numeric so that Kubernetes'
# runAsNonRoot can check it.
USER 65532:65532

# 8080: HTTP API (expectct api). 9090: worker metrics and health (expectct worker).
EXPOSE 8080 9090

ENTRYPOINT ["/expectct"]
