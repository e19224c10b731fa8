# Connect streaming from a shell: source this file for two functions.
#
# A Connect server stream (StreamDockerContainerLogs, WatchDockerEvents,
# StreamDockerContainerStats, PullDockerImage) is a POST with
# `content-type: application/connect+json` whose body, and every message of
# whose response, is an envelope:
#
#   byte 0       flags: 0x00 a message; 0x02 the end of the stream (0x01, compressed,
#                never comes unless the request sent connect-accept-encoding)
#   bytes 1-4    the length of what follows, big-endian
#   then         that many bytes of JSON: a message, or for the end of the stream
#                {} or {"error": {"code": "not_found", "message": "..."}}
#
# The HTTP status is 200 even when the call fails: the error is in the last
# envelope. A request body sent as plain JSON, without its envelope, is read
# as one anyway: `{"co` becomes a length of some 577 MB, and the answer is
# RESOURCE_EXHAUSTED "message size 576941934 is larger than configured
# readMaxBytes". Unary calls (Run, Stop, List...) need none of this: they take
# and return plain JSON with `content-type: application/json`.
#
#   source client-examples/curl/connect-stream.sh
#   connect_envelope '{"container": "web", "follow": true}' |
#     curl -sS -N -H 'content-type: application/connect+json' --data-binary @- \
#       http://127.0.0.1:8080/osiris.docker.v1.DockerService/StreamDockerContainerLogs |
#     connect_unenvelope
#
# Needs only bash, od and dd. `npx buf curl --protocol connect` (in the npm
# packages) does the same framing for you, reading the schema by reflection.

# Writes the JSON of $1 as one envelope (flags 0, then its length in bytes).
connect_envelope() {
  local LC_ALL=C # so ${#1} counts bytes, not characters
  local json="$1" length=${#1}
  printf "\\x00\\x$(printf %02x $((length >> 24 & 255)))\\x$(printf %02x $((length >> 16 & 255)))\\x$(printf %02x $((length >> 8 & 255)))\\x$(printf %02x $((length & 255)))"
  printf '%s' "$json"
}

# Reads envelopes from stdin as they arrive and prints each message's JSON on a
# line of its own. At the end of the stream it returns 0, or prints the error
# to stderr and returns 1; a stream cut before its end envelope returns 2.
connect_unenvelope() {
  local header flags length payload
  # dd reads exactly the bytes asked for, even from a pipe, so nothing of the next envelope is lost.
  while header="$(dd bs=1 count=5 2>/dev/null | od -An -tu1)" && [ -n "${header// /}" ]; do
    set -- $header
    [ "$#" -eq 5 ] || { echo "connect stream: cut inside an envelope header" >&2; return 2; }
    flags=$1
    length=$(($2 << 24 | $3 << 16 | $4 << 8 | $5))
    payload="$(dd bs=1 count="$length" 2>/dev/null)"
    if ((flags & 2)); then
      case "$payload" in
        *'"error"'*) echo "$payload" >&2; return 1 ;;
        *) return 0 ;;
      esac
    fi
    printf '%s\n' "$payload"
  done
  echo "connect stream: ended without its end-of-stream envelope" >&2
  return 2
}
