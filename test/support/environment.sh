#!/usr/bin/env bash
# Brings up everything Osiris and its tests need on a Debian machine, installing
# only what is missing: npm packages, a Docker engine, the test images and the
# local registries. Safe to run again; every step checks before it acts.
#
#   environment.sh serve    npm packages + a running engine + the demo image
#   environment.sh test     the above + the local registries the tests pull from
#   environment.sh engine   only the engine (tests use it to restart one they stopped)
#   environment.sh bench    the serve set + h2load (Debian's nghttp2-client) for bench/
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${OSIRIS_TEST_STATE_DIR:-/var/lib/osiris-test}"
DOCKERD_PIDFILE="$STATE_DIR/dockerd.pid"
TEST_IMAGE="osiris-test/busybox:latest"
REGISTRY_ADDR="127.0.0.1:5000"
AUTH_REGISTRY_ADDR="127.0.0.1:5001"
# Credentials of the throwaway registry that pull-auth tests use; loopback only.
AUTH_REGISTRY_USER="osiris"
AUTH_REGISTRY_PASSWORD="osiris-test-password"

log() { printf '[environment] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
ensure_debian_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ "$apt_updated" -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_npm_packages() {
  cd "$ROOT"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  # npm scripts run this node (the `node` devDependency), whatever the system's is.
  # Its binary comes from its preinstall script, which ignore-scripts would skip.
  if ! "$ROOT/node_modules/.bin/node" --version >/dev/null 2>&1; then
    log "node_modules/.bin/node does not run: the 'node' package's preinstall did not fetch its binary (is npm's ignore-scripts set?); run 'npm ci' again with scripts on"
    exit 1
  fi
}

# The dashboard Osiris serves at /ui/ (dist/ui/), rebuilt when its sources, the
# generated code or the packages are newer than the last build.
ensure_dashboard_build() {
  cd "$ROOT"
  local stamp="dist/ui/index.html"
  if [ -f "$stamp" ] && [ -z "$(find client-examples/dashboard gen package-lock.json -newer "$stamp" -type f -print -quit)" ]; then
    return 0
  fi
  log "building the dashboard into dist/ui (npm run build:ui)"
  npm run --silent build:ui >/dev/null
}

engine_answers() { docker version >/dev/null 2>&1; }

ensure_engine() {
  if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
    # A remote engine is the operator's business; we only check it answers.
    engine_answers || { log "DOCKER_HOST=$DOCKER_HOST does not answer"; exit 1; }
    return 0
  fi
  ensure_debian_packages docker.io
  if engine_answers; then return 0; fi
  log "starting dockerd (log: $STATE_DIR/dockerd.log)"
  as_root mkdir -p "$STATE_DIR"
  # setsid keeps the engine alive after this script (and npm) exit.
  as_root setsid dockerd --pidfile "$DOCKERD_PIDFILE" >>"$STATE_DIR/dockerd.log" 2>&1 < /dev/null &
  local i
  for i in $(seq 1 120); do
    engine_answers && { log "engine is up"; return 0; }
    sleep 0.5
  done
  log "dockerd did not answer within 60 s; last log lines:"
  tail -n 20 "$STATE_DIR/dockerd.log" >&2 || true
  exit 1
}

# A busybox image built from Debian's busybox-static: no registry on the internet.
ensure_test_image() {
  docker image inspect "$TEST_IMAGE" >/dev/null 2>&1 && return 0
  ensure_debian_packages busybox-static
  log "building $TEST_IMAGE from busybox-static"
  local rootfs
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www" "$rootfs/etc"
  cp /bin/busybox "$rootfs/bin/busybox"
  local applet
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$TEST_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# A Node base image for building Osiris's own image without a registry: the
# project's node (the `node` devDependency, the major the Dockerfile names), the
# machine's npm, the libraries ldd lists, and busybox for RUN steps. Rebuilt when
# that node's version changes.
NODE_BASE_IMAGE="osiris-test/node-base:latest"
NODE_BUILD_IMAGE="osiris-test/node-build:latest"
ensure_node_base_image() {
  local node version
  node="$(readlink -f "$ROOT/node_modules/.bin/node")"
  version="$("$node" --version)"
  [ "$(image_label "$NODE_BASE_IMAGE" io.osiris.node-version)" = "$version" ] && return 0
  ensure_debian_packages busybox-static
  log "building $NODE_BASE_IMAGE from node $version"
  local rootfs lib applet previous
  previous="$(docker image inspect --format '{{.Id}}' "$NODE_BASE_IMAGE" 2>/dev/null || true)"
  # Built on the old base, so rebuilt below; removed first so the old base can go.
  docker rmi "$NODE_BUILD_IMAGE" >/dev/null 2>&1 || true
  rootfs="$(mktemp -d)"
  mkdir -p "$rootfs/bin" "$rootfs/usr/bin" "$rootfs/usr/lib" "$rootfs/tmp" "$rootfs/etc"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
  done
  cp "$node" "$rootfs/usr/bin/node"
  for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$rootfs/usr/lib/npm"
  ln -s ../lib/npm/bin/npm-cli.js "$rootfs/usr/bin/npm"
  # npm-cli.js starts with #!/usr/bin/env node.
  ln -s /bin/env "$rootfs/usr/bin/env"
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' > "$rootfs/etc/group"
  tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/usr/bin:/bin' \
    --change "LABEL io.osiris.node-version=$version" - "$NODE_BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  # The replaced base, untagged now; still in use by images built from it, it stays.
  if [ -n "$previous" ]; then docker rmi "$previous" >/dev/null 2>&1 || true; fi
}

image_label() {
  docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# The Dockerfile's BUILD_IMAGE for the image test: the base above plus an npm
# cache holding the production dependencies of package-lock.json, used offline,
# so the Dockerfile's own `npm ci` runs there as it does against the registry.
# The cache is filled from the registry here, on the host; rebuilt when the lock changes.
ensure_node_build_image() {
  local lock_digest
  lock_digest="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)"
  if [ "$(image_label "$NODE_BUILD_IMAGE" io.osiris.lock-sha256)" = "$lock_digest" ] &&
    [ "$(image_label "$NODE_BUILD_IMAGE" io.osiris.node-version)" = "$(image_label "$NODE_BASE_IMAGE" io.osiris.node-version)" ]; then
    return 0
  fi
  log "building $NODE_BUILD_IMAGE (an npm cache of the production dependencies)"
  local context previous
  previous="$(docker image inspect --format '{{.Id}}' "$NODE_BUILD_IMAGE" 2>/dev/null || true)"
  context="$(mktemp -d)"
  cp "$ROOT/package.json" "$ROOT/package-lock.json" "$context/"
  (cd "$context" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error --cache "$context/npm-cache" >/dev/null)
  rm -rf "$context/node_modules"
  cat > "$context/Dockerfile" <<DOCKERFILE
FROM $NODE_BASE_IMAGE
COPY npm-cache /var/cache/npm
ENV npm_config_cache=/var/cache/npm npm_config_offline=true
DOCKERFILE
  docker build --quiet --label "io.osiris.lock-sha256=$lock_digest" -t "$NODE_BUILD_IMAGE" "$context" >/dev/null
  rm -rf "$context"
  if [ -n "$previous" ]; then docker rmi "$previous" >/dev/null 2>&1 || true; fi
}

# What the client examples in client-examples/ need besides curl: Debian's protoc,
# its gRPC Python plugin and the well-known .proto files to generate the Python
# stubs, and grpcio and protobuf for the system's python3 (no PyPI needed).
ensure_client_example_tools() {
  ensure_debian_packages curl protobuf-compiler protobuf-compiler-grpc libprotobuf-dev python3 python3-grpcio python3-protobuf
}

registry_config() {
  local addr="$1" dir="$2" auth="$3"
  cat <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $addr
YAML
  if [ "$auth" = yes ]; then
    cat <<YAML
auth:
  htpasswd:
    realm: osiris-test
    path: $dir/htpasswd
YAML
  fi
}

registry_answers() { curl -s -o /dev/null --max-time 2 "http://$1/v2/"; }

start_registry() {
  local name="$1" addr="$2" auth="$3"
  local dir="$STATE_DIR/$name"
  registry_answers "$addr" && return 0
  as_root mkdir -p "$dir/data"
  if [ "$auth" = yes ]; then
    htpasswd -Bbn "$AUTH_REGISTRY_USER" "$AUTH_REGISTRY_PASSWORD" > "$dir/htpasswd"
  fi
  registry_config "$addr" "$dir" "$auth" > "$dir/config.yml"
  log "starting registry $name on $addr"
  setsid docker-registry serve "$dir/config.yml" >>"$dir/registry.log" 2>&1 < /dev/null &
  local i
  for i in $(seq 1 40); do registry_answers "$addr" && return 0; sleep 0.25; done
  log "registry $name did not answer; log:"; tail -n 20 "$dir/registry.log" >&2; exit 1
}

push_test_image() {
  local registry="$1" login="$2"
  local remote="$registry/osiris-test/busybox:latest"
  if [ "$login" = yes ]; then
    printf "%s" "$AUTH_REGISTRY_PASSWORD" | docker login -u "$AUTH_REGISTRY_USER" --password-stdin "$registry" >/dev/null 2>&1
  fi
  docker tag "$TEST_IMAGE" "$remote"
  docker push "$remote" >/dev/null
  # Drop the local tag so pull tests really pull.
  docker rmi "$remote" >/dev/null
  if [ "$login" = yes ]; then docker logout "$registry" >/dev/null; fi
}

ensure_registries() {
  ensure_debian_packages docker-registry apache2-utils curl
  start_registry registry "$REGISTRY_ADDR" no
  start_registry registry-auth "$AUTH_REGISTRY_ADDR" yes
  # Loopback registries are trusted as plain HTTP by the engine without configuration.
  push_test_image "$REGISTRY_ADDR" no
  push_test_image "$AUTH_REGISTRY_ADDR" yes
}

main() {
  local what="${1:-test}"
  if [ "$what" = engine ]; then ensure_engine; return; fi
  ensure_npm_packages
  ensure_dashboard_build
  ensure_engine
  ensure_test_image
  if [ "$what" = test ]; then
    # The dashboard's browser test drives Debian's chromium (no browser download).
    ensure_debian_packages chromium
    ensure_registries
    ensure_node_base_image
    ensure_node_build_image
    ensure_client_example_tools
  fi
  if [ "$what" = bench ]; then ensure_debian_packages nghttp2-client; fi
}

main "$@"
