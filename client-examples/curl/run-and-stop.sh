#!/usr/bin/env bash
# Runs a web server container through Osiris with plain curl (Connect protocol,
# JSON over HTTP/1.1), fetches its page through the published port, then stops it.
#
#   OSIRIS_URL  where Osiris listens      (default http://127.0.0.1:8080)
#   IMAGE       image to run              (default osiris-test/busybox:latest)
#   NAME        container name            (default curl-example-<pid>)
set -euo pipefail

OSIRIS_URL="${OSIRIS_URL:-http://127.0.0.1:8080}"
IMAGE="${IMAGE:-osiris-test/busybox:latest}"
NAME="${NAME:-curl-example-$$}"
SERVICE="$OSIRIS_URL/osiris.docker.v1.DockerService"

call() {
  # Connect answers errors with a non-2xx status and a JSON body saying why.
  curl --silent --show-error --fail-with-body \
    --header 'content-type: application/json' --data @- "$SERVICE/$1"
}

echo "== RunDockerContainer $NAME"
response="$(call RunDockerContainer <<JSON
{
  "image": "$IMAGE",
  "name": "$NAME",
  "command": ["sh", "-c", "echo \"\$GREETING\" > /www/index.html; exec httpd -f -p 80 -h /www"],
  "env": {"GREETING": "hello from curl"},
  "ports": [{"containerPort": 80, "hostIp": "127.0.0.1"}]
}
JSON
)"
echo "$response"

# The engine chose the host port; the response says which.
port="$(printf '%s' "$response" | grep -o '"hostPort":[0-9]*' | head -n 1 | cut -d: -f2)"
echo "== GET http://127.0.0.1:$port/"
for _ in $(seq 1 20); do
  if page="$(curl --silent --fail "http://127.0.0.1:$port/")"; then break; fi
  sleep 0.2
done
echo "${page:-<no answer>}"

echo "== StopDockerContainer $NAME"
call StopDockerContainer <<JSON
{"container": "$NAME", "timeoutSeconds": 2}
JSON
echo
