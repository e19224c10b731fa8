#!/usr/bin/env bash
# Fails when gen/ differs from what `buf generate` makes of proto/: gen/ is
# committed so users need no toolchain, and must never drift from the contract.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
fresh="$(mktemp -d)"
trap 'rm -rf "$fresh"' EXIT
npx buf generate --output "$fresh"
if ! diff -r gen "$fresh/gen" >/dev/null; then
  echo "gen/ is out of date with proto/: run 'npm run generate' and commit." >&2
  diff -r gen "$fresh/gen" >&2 || true
  exit 1
fi
echo "gen/ matches proto/"
