# latchkey in a container, built from source: a static binary compiled in
# the golang image (pulled from Docker Hub; modules from the Go module proxy)
# on an empty base image. Dockerfile.release makes the same image from a
# scripts/release.sh archive with no registry at all (deploy/release-image.sh).
#
#   docker build -t latchkey .
#   docker run -p 8080:8080 -v latchkey-data:/data latchkey
#
# The default database is SQLite in the /data volume, with the system secret
# created beside it on first start; back that volume up. For several
# replicas, set LATCHKEY_DB to a postgres:// URL and give every replica the
# same LATCHKEY_SECRET (deploy/compose.yaml, deploy/kubernetes/).

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# scripts/release.sh's values, when building a release image:
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(git log -1 --format=%cI) .
ARG VERSION=""
ARG COMMIT=""
ARG DATE=""
RUN CGO_ENABLED=0 go build -buildvcs=false -trimpath \
      -ldflags "-s -w -buildid= -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/latchkey ./cmd/latchkey
# scratch has no useradd: write the non-root user's entries by hand, and an
# empty /data owned by it, which a new named volume copies with its owner.
RUN mkdir -p /out/etc /out/data \
 && echo 'latchkey:x:65532:65532:latchkey:/data:/sbin/nologin' >/out/etc/passwd \
 && echo 'latchkey:x:65532:' >/out/etc/group \
 && chmod 0700 /out/data

FROM scratch
COPY --from=build /out/etc/passwd /out/etc/group /etc/
# CA roots for PostgreSQL with sslmode=verify-full and HTTPS gateway upstreams.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/latchkey /latchkey
USER 65532:65532
WORKDIR /data
VOLUME /data
ENV LATCHKEY_DB=sqlite:/data/latchkey.db \
    LATCHKEY_SECRET_FILE=/data/latchkey.secret \
    LATCHKEY_ADDR=0.0.0.0:8080
EXPOSE 8080
# No shell or curl in the image: the binary checks /readyz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/latchkey", "healthcheck"]
ENTRYPOINT ["/latchkey"]
CMD ["serve"]
