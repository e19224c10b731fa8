#!/usr/bin/env bash
# Generates the Python modules the client imports from the repository's proto/,
# with Debian's protoc (protobuf-compiler), its grpc_python_plugin
# (protobuf-compiler-grpc) and the well-known types of libprotobuf-dev:
#
#   bash client-examples/python/generate.sh [OUT_DIR]    (default: client-examples/python/generated)
#
# Out come these modules (import them with OUT_DIR on sys.path):
#   osiris.docker.v1.docker_management_pb2[_grpc]   the Osiris service
#   google.rpc.status_pb2, google.rpc.error_details_pb2
#                                                    the error model: the `grpc-status-details-bin`
#                                                    trailer and its google.rpc.BadRequest
#   grpc_health.v1.health_pb2[_grpc]                 the standard health service
#
# Why grpc_health: proto/grpc/health/v1/health.proto keeps the path the gRPC
# project gives it (servers and reflection clients know it by that name), but
# generated as is it would be the Python package `grpc.health.v1`, inside
# grpcio's own `grpc` package, which then hides it. grpcio-health-checking
# solves this by generating the same file as grpc_health/v1/health.proto; so do
# we. The service is still `grpc.health.v1.Health` on the wire.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
proto="$here/../../proto"
out="${1:-$here/generated}"

for tool in protoc grpc_python_plugin; do
  command -v "$tool" >/dev/null || {
    echo "$tool not found: apt-get install protobuf-compiler protobuf-compiler-grpc libprotobuf-dev" >&2
    exit 1
  }
done
# protoc finds google/protobuf/*.proto (timestamp, any) here on Debian.
well_known=/usr/include
[ -f "$well_known/google/protobuf/timestamp.proto" ] || {
  echo "google/protobuf/timestamp.proto not found in $well_known: apt-get install libprotobuf-dev" >&2
  exit 1
}

renamed="$(mktemp -d)"
trap 'rm -rf "$renamed"' EXIT
mkdir -p "$renamed/grpc_health/v1"
cp "$proto/grpc/health/v1/health.proto" "$renamed/grpc_health/v1/health.proto"

mkdir -p "$out"
protoc -I "$proto" -I "$renamed" -I "$well_known" \
  --plugin=protoc-gen-grpc_python="$(command -v grpc_python_plugin)" \
  --python_out="$out" --grpc_python_out="$out" \
  osiris/docker/v1/docker_management.proto \
  google/rpc/status.proto google/rpc/error_details.proto \
  grpc_health/v1/health.proto
echo "generated Python modules in $out"
