# istio-preflight as a container image: a static musl binary on distroless/static, which
# holds CA certificates (for the live-cluster mode's API server and kubeconfig TLS),
# /etc/passwd with the nonroot user (65532), and nothing else: no shell, no package manager.
#   docker build -t istio-preflight .
#   docker run --rm -v "$PWD:/src:ro" -w /src istio-preflight check . --target 1.30.3
# Base images are pinned by digest, with the tag beside it: the tag says what the image is,
# the digest decides which one is used. Bump both together in a reviewed commit.

# rust:1.90.0-alpine3.21: Alpine's Rust builds static musl binaries by default.
FROM rust:1.90.0-alpine3.21@sha256:3757b14ddcc2057eb91a074dcdd0913bed839b22444bd2229a49eea910ed8736 AS build
RUN apk add --no-cache musl-dev=1.2.5-r9
WORKDIR /src
COPY . .
RUN cargo build --locked --release --bin istio-preflight \
    && cp target/release/istio-preflight /istio-preflight \
    && /istio-preflight --version

# gcr.io/distroless/static-debian12:nonroot
FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
LABEL org.opencontainers.image.source="https://github.com/istio-preflight/istio-preflight" \
      org.opencontainers.image.description="Checks a Kubernetes estate before an Istio upgrade" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /istio-preflight /usr/local/bin/istio-preflight
USER 65532:65532
ENTRYPOINT ["istio-preflight"]
CMD ["--help"]
