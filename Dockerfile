# Build a static parley binary, then ship it alone on a distroless base,
# running as a non-root user. make docker passes the version:
#   docker build --build-arg VERSION=v1.2.3 -t parley .
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/parley ./cmd/parley \
 && /out/parley version \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parley /usr/local/bin/parley
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# The data directory for every command, so that
#   docker exec <container> parley room create "Thursday Choir"
# finds the running server (through /data/operator.json) without --data.
ENV PARLEY_DATA=/data
# HTTP, then the media port: UDP (ICE mux) and TCP (ICE-TCP fallback).
# Publish all three; behind NAT also set PARLEY_PUBLIC_IP (see README).
EXPOSE 8080/tcp 8189/udp 8189/tcp
VOLUME ["/data"]
# parley health asks the server found through /data/operator.json for
# GET /api/v1/health, and exits 0 only if it answers "ok".
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 \
  CMD ["/usr/local/bin/parley", "health", "--data", "/data", "--timeout", "5s"]
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve", "--data", "/data"]
