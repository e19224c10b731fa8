#!/usr/bin/env bash
# What errors look like over the Connect protocol with curl: a non-2xx HTTP
# status and a JSON body {"code", "message", "details"}. The code is the gRPC
# code in snake_case (HTTP 400 invalid_argument, 404 not_found, 409
# already_exists, 412 failed_precondition...). An INVALID_ARGUMENT carries a
# google.rpc.BadRequest detail naming each bad field: "value" is the protobuf
# bytes in base64, and "debug" the same as JSON, for people.
#
#   OSIRIS_URL  where Osiris listens      (default http://127.0.0.1:8080)
set -uo pipefail

OSIRIS_URL="${OSIRIS_URL:-http://127.0.0.1:8080}"
SERVICE="$OSIRIS_URL/osiris.docker.v1.DockerService"

call() {
  # --write-out puts the HTTP status on a line of its own after the body.
  curl --silent --show-error --write-out '\nHTTP %{http_code}\n' \
    --header 'content-type: application/json' --data @- "$SERVICE/$1"
}

echo "== RunDockerContainer with no image, a port out of range and a bad host IP"
call RunDockerContainer <<'JSON'
{"image": "", "ports": [{"containerPort": 70000, "hostIp": "not-an-ip"}]}
JSON

echo "== StopDockerContainer of a container that does not exist"
call StopDockerContainer <<'JSON'
{"container": "no-such-container-for-the-curl-example"}
JSON
