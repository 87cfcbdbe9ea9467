# Build a static parley binary, then ship it alone on a distroless base,
# running as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/parley ./cmd/parley \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parley /usr/local/bin/parley
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# HTTP, then the media port: UDP (ICE mux) and TCP (ICE-TCP fallback).
EXPOSE 8080/tcp 8189/udp 8189/tcp
VOLUME ["/data"]
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve", "--data", "/data"]
