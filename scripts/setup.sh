#!/usr/bin/env bash
# Installs what building and testing IceGate needs, only where it is missing.
# Idempotent and non-interactive: Debian packages through apt, npm test tools into
# tests/node/node_modules from the committed lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS=(
  gcc make clang pkg-config git curl ca-certificates python3 sqlite3 zstd
  libmicrohttpd-dev libnghttp2-dev libzstd-dev zlib1g-dev libsnappy-dev libxxhash-dev
  libyaml-dev libsqlite3-dev libpq-dev libpcre2-dev libcurl4-openssl-dev
  libcmocka-dev libclang-rt-14-dev libfuzzer-14-dev postgresql
)

missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm test tools (DuckDB, hyparquet, ...) from the lockfile, only when it changed.
if [ -f tests/node/package-lock.json ]; then
  stamp=tests/node/node_modules/.icegate-lock.sha
  want=$(sha256sum tests/node/package-lock.json | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "setup: npm ci in tests/node"
    (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
    echo "$want" > "$stamp"
  fi
fi
