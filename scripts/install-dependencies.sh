#!/usr/bin/env bash
# Installs the Debian packages the build needs, when missing: OpenSSL 3 and libev headers,
# pkg-config (the OpenSSL module map asks it for flags), and Python's `cryptography` for the
# interoperability tests. Idempotent; runs apt-get only when something is missing.
set -euo pipefail

packages=(libssl-dev libev-dev pkg-config)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if command -v python3 >/dev/null && ! python3 -c 'import cryptography' 2>/dev/null; then
    echo "installing Python's cryptography package (interoperability tests)" >&2
    python3 -m pip install --quiet cryptography >&2 || echo "warning: could not install cryptography; the interop tests will say they were skipped" >&2
fi
