#!/usr/bin/env bash
# Installs the Debian packages the build needs, when missing: OpenSSL 3 and libev headers,
# pkg-config (the OpenSSL module map asks it for flags), and Python with `cryptography` and
# `pytest` for the interoperability tests. Idempotent; runs apt-get only when something is missing.
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

# The interoperability suite's independent peers: Python with cryptography and pytest.
if ! command -v python3 >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3 python3-pip >&2
fi
for module in cryptography pytest; do
    if ! python3 -c "import $module" 2>/dev/null; then
        echo "installing Python's $module package (interoperability tests)" >&2
        python3 -m pip install --quiet "$module" >&2 || python3 -m pip install --quiet --break-system-packages "$module" >&2
    fi
done
