#!/usr/bin/env bash
# Lists containers with plain curl (Connect protocol, JSON), twice: as a POST,
# and as the GET that read-only RPCs also accept (cacheable, and usable from a
# browser address bar). Pipe through `jq` to read it more easily.
#
#   OSIRIS_URL   where Osiris listens                  (default http://127.0.0.1:8080)
#   NAME_PREFIX  only containers whose name starts so  (default: all of them)
set -euo pipefail

OSIRIS_URL="${OSIRIS_URL:-http://127.0.0.1:8080}"
NAME_PREFIX="${NAME_PREFIX:-}"
SERVICE="$OSIRIS_URL/osiris.docker.v1.DockerService"
# "all": stopped ones too, like `docker ps --all`. Only containers Osiris made
# are listed unless the server runs with OSIRIS_SCOPE=all.
request="{\"all\": true, \"namePrefix\": \"$NAME_PREFIX\"}"

echo "== ListDockerContainers (POST)"
curl --silent --show-error --fail-with-body \
  --header 'content-type: application/json' --data "$request" "$SERVICE/ListDockerContainers"
echo

echo "== ListDockerContainers (GET)"
curl --silent --show-error --fail-with-body --get \
  --data connect=v1 --data encoding=json --data-urlencode "message=$request" "$SERVICE/ListDockerContainers"
echo
