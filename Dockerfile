# syntax=docker/dockerfile:1
# The cicada container image: `cicada` as the entry point, the bundled scenarios under
# /etc/cicada/scenarios, a non-root user, nothing that writes to the root file system.
#
#   docker build -t cicada .        (or `skaffold build`, `skaffold run`: see docs/kubernetes.md)
#
# The machines that develop cicada run no Docker engine: build the image where Docker or
# skaffold runs. The build command below is the one CI runs in debug form (`--locked`: the
# committed Cargo.lock, exactly); tests/e2e/k8s.rs checks that this file still says it.

# Build: the same Rust release as rust-version in Cargo.toml, on the Debian release of the
# final image (the binary links against its glibc).
FROM rust:1.95-slim-bookworm AS build
# make: the jemalloc allocator (tikv-jemalloc-sys) is built from C sources; the slim image has
# a C compiler but no make.
RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target directory between builds (BuildKit).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && install -D -m 0755 target/release/cicada /out/cicada

# Run: distroless (glibc and libgcc, no shell, no package manager), about 40 MB with cicada.
# TLS roots are compiled into the binary (webpki-roots), so no CA bundle is needed.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/cicada /usr/local/bin/cicada
COPY scenarios/ /etc/cicada/scenarios/
# 65532 is distroless' `nonroot`; the Kubernetes manifests run as the same ids.
USER 65532:65532
# 8089: web UI, API, /metrics, probes. 5557: workers connect to the master (gRPC).
EXPOSE 8089 5557
ENTRYPOINT ["cicada"]
CMD ["--help"]
