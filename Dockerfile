# The infra-agent server image: a static binary on a distroless base, run as a
# non-root user. The runner side runs in GitHub Actions through action.yml.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/infra-agent ./cmd/infra-agent

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/infra-agent /usr/local/bin/infra-agent
# SQLite by default, in the non-root user's home (mount a volume on
# /home/nonroot/data), or set INFRA_AGENT_DATABASE=postgres://... for replicas.
WORKDIR /home/nonroot
ENV INFRA_AGENT_DATABASE=/home/nonroot/data/infra-agent.db
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/infra-agent"]
CMD ["serve"]
