#!/usr/bin/env bash
# Installs shell completion (bash, zsh, fish) for relay-server and relay-client, and
# their manual pages, generated from the argument parser (swift-argument-parser's
# --generate-completion-script and its generate-manual plugin).
#
#   scripts/install-shell-support.sh [--prefix DIR] [--no-manual]
#
# DIR defaults to ~/.local: completions go to DIR/share/bash-completion/completions,
# DIR/share/zsh/site-functions and DIR/share/fish/vendor_completions.d; manual pages to
# DIR/share/man/man1 (then `man relay-client`). The executables are taken from
# RELAY_BIN_DIR when set, else built in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="$HOME/.local"
manual=1
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --no-manual) manual=0; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install-shell-support.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
    esac
done

if [ -n "${RELAY_BIN_DIR:-}" ]; then
    bin="$RELAY_BIN_DIR"
else
    swift build -c release --product relay-server >&2
    swift build -c release --product relay-client >&2
    bin="$(swift build -c release --show-bin-path)"
fi

mkdir -p "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" \
         "$prefix/share/fish/vendor_completions.d"
for tool in relay-server relay-client; do
    "$bin/$tool" --generate-completion-script bash > "$prefix/share/bash-completion/completions/$tool"
    "$bin/$tool" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_$tool"
    "$bin/$tool" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/$tool.fish"
    echo "installed completion for $tool (bash, zsh, fish) under $prefix/share" >&2
done

if [ "$manual" = 1 ]; then
    swift package generate-manual >&2
    mkdir -p "$prefix/share/man/man1"
    for tool in relay-server relay-client; do
        install -m 0644 ".build/plugins/GenerateManual/outputs/$tool/$tool.1" "$prefix/share/man/man1/$tool.1"
        echo "installed $prefix/share/man/man1/$tool.1" >&2
    done
fi
