#!/usr/bin/env bash
# Follows a container's logs with plain curl over the Connect protocol (a
# server stream: see connect-stream.sh for the envelope), stops the container
# while following, and sees the stream end. Removes the container it made on
# any exit.
#
#   OSIRIS_URL  where Osiris listens      (default http://127.0.0.1:8080)
#   IMAGE       image to run              (default osiris-test/busybox:latest)
#   NAME        container name            (default curl-logs-example-<pid>)
set -euo pipefail

OSIRIS_URL="${OSIRIS_URL:-http://127.0.0.1:8080}"
IMAGE="${IMAGE:-osiris-test/busybox:latest}"
NAME="${NAME:-curl-logs-example-$$}"
SERVICE="$OSIRIS_URL/osiris.docker.v1.DockerService"
source "$(dirname "${BASH_SOURCE[0]}")/connect-stream.sh"

call() {
  curl --silent --show-error --fail-with-body \
    --header 'content-type: application/json' --data @- "$SERVICE/$1"
}

# Each message is {"stream": "LOG_STREAM_STDOUT", "data": "<base64 bytes>", "timestamp": "..."}.
print_log_lines() {
  local message stream data timestamp
  while IFS= read -r message; do
    stream="$(printf '%s' "$message" | sed -n 's/.*"stream":"LOG_STREAM_\([A-Z]*\)".*/\1/p' | tr 'A-Z' 'a-z')"
    timestamp="$(printf '%s' "$message" | sed -n 's/.*"timestamp":"\([^"]*\)".*/\1/p')"
    data="$(printf '%s' "$message" | sed -n 's/.*"data":"\([^"]*\)".*/\1/p' | base64 -d)"
    printf '%s %s %s\n' "$stream" "$timestamp" "$data"
  done
}

follow=""
remove() {
  [ -z "$follow" ] || kill "$follow" 2>/dev/null || true
  echo "== RemoveDockerContainer $NAME"
  call RemoveDockerContainer <<<"{\"container\": \"$NAME\", \"force\": true, \"ignoreNotFound\": true}" || true
  echo
}
trap remove EXIT

echo "== RunDockerContainer $NAME (three lines, one on stderr, then waits for SIGTERM)"
call RunDockerContainer <<JSON
{
  "image": "$IMAGE",
  "name": "$NAME",
  "command": ["sh", "-c", "echo starting; echo warming up >&2; echo ready; trap 'echo bye; exit 0' TERM; while true; do sleep 0.1; done"]
}
JSON
echo

echo "== StreamDockerContainerLogs $NAME, following"
lines="$(mktemp)"
trap 'rm -f "$lines"; remove' EXIT
# -N: print each envelope as it arrives instead of buffering. timestamps: one line per message.
connect_envelope "{\"container\": \"$NAME\", \"follow\": true, \"timestamps\": true}" |
  curl --silent --show-error --no-buffer --max-time 60 \
    --header 'content-type: application/connect+json' --data-binary @- "$SERVICE/StreamDockerContainerLogs" |
  connect_unenvelope | print_log_lines | tee "$lines" &
follow=$!

# Stop once the container has said it is ready (bounded: 20 s).
for _ in $(seq 1 100); do grep -q ready "$lines" && break; sleep 0.2; done

echo "== StopDockerContainer $NAME (the stream ends with it)"
call StopDockerContainer <<<"{\"container\": \"$NAME\", \"timeoutSeconds\": 5}" >/dev/null
wait "$follow"
follow=""
echo "== stream ended"
