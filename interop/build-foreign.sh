#!/usr/bin/env bash
# Build tolerant-ws's foreign interop peers (go-libp2p and rust-libp2p).
#
#   bash interop/build-foreign.sh [go] [rust]     (default: both)
#
# Caches live outside the clone so a second run is fast:
#   go:    GOMODCACHE / GOCACHE (go's defaults: ~/go/pkg/mod, ~/.cache/go-build)
#   rust:  CARGO_TARGET_DIR, default $HOME/.cache/tolerant-ws/rust-target
#          (crates in ~/.cargo/registry)
# The go binary goes to interop/go/ping-peer (gitignored); the rust binary stays
# in the target dir. Prints one `<impl>=<absolute path>` line per binary on
# stdout; progress on stderr. Exits non-zero if any build fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tolerant-ws/rust-target}"

want_go=1 want_rust=1
if [ "$#" -gt 0 ]; then
  want_go=0 want_rust=0
  for a in "$@"; do
    case "$a" in
      go) want_go=1 ;;
      rust) want_rust=1 ;;
      *) echo "usage: $0 [go] [rust]" >&2; exit 2 ;;
    esac
  done
fi

out=()

if [ "$want_go" = 1 ]; then
  command -v go >/dev/null || { echo "build-foreign: go not found (need Go >= 1.25.7)" >&2; exit 1; }
  echo "build-foreign: go: $(go version) -> $here/go/ping-peer" >&2
  start=$SECONDS
  (cd "$here/go" && go build -mod=readonly -trimpath -o ping-peer .)
  echo "build-foreign: go: built in $((SECONDS - start))s" >&2
  out+=("go=$here/go/ping-peer")
fi

if [ "$want_rust" = 1 ]; then
  command -v cargo >/dev/null || { echo "build-foreign: cargo not found" >&2; exit 1; }
  echo "build-foreign: rust: $(cargo --version), CARGO_TARGET_DIR=$CARGO_TARGET_DIR" >&2
  mkdir -p "$CARGO_TARGET_DIR"
  start=$SECONDS
  cargo build --release --locked --manifest-path "$here/rust/Cargo.toml" >&2
  echo "build-foreign: rust: built in $((SECONDS - start))s" >&2
  out+=("rust=$CARGO_TARGET_DIR/release/ping-peer")
fi

for line in "${out[@]}"; do
  bin="${line#*=}"
  [ -x "$bin" ] || { echo "build-foreign: missing binary $bin" >&2; exit 1; }
  echo "$line"
done
