#!/usr/bin/env bash
# Installs what the compatibility suite drives, once; later runs reuse it (a few seconds when nothing is missing):
#   1. Debian packages through scripts/deps.sh test (Go + moby/spdystream, nghttp2 tools, curl, openssl,
#      python3-venv...), and haproxy + iproute2 for the replicas case, when apt-get is there, and scripts/deps.sh
#      browser (chromium, chromium-driver, python3-selenium for cases/ui.sh) apart, so that a browser that cannot
#      be installed costs no other peer;
#   2. a virtualenv in Compat/.work/venv with Compat/requirements.txt from PyPI (reused while requirements.txt
#      is unchanged).
# Everything goes to Compat/.work/install.log; what could not be installed is said on stdout ("install: ...") and
# the cases that need it are skipped by run.sh. Always exits 0: a missing peer is a SKIP, not a crash.
# Compat/install.sh --print-python prints the Python the suite should use (the venv's, else python3).
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$here/.work"
venv="$work/venv"
log="$work/install.log"
req="$here/requirements.txt"
stamp="$venv/.compat-requirements"
mkdir -p "$work"

python_of_suite() {
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        echo "$venv/bin/python"
    else
        echo python3
    fi
}

if [ "${1:-}" = --print-python ]; then
    python_of_suite
    exit 0
fi

: >"$log"
note() {
    echo "install: $*"
    echo "install: $*" >>"$log"
}

# --- Debian packages -----------------------------------------------------------------------------------------
if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then
    if ! timeout 900 "$here/../scripts/deps.sh" test >>"$log" 2>&1; then
        note "scripts/deps.sh test failed (see $log); cases whose tools are missing will be skipped"
    fi
    if ! timeout 900 "$here/../scripts/deps.sh" browser >>"$log" 2>&1; then
        note "scripts/deps.sh browser failed (see $log): the web terminal's browser case will be skipped"
    fi
else
    note "no apt-get here: install Go, moby/spdystream, nghttp2 tools, curl, openssl and python3-venv by hand"
fi

# --- HAProxy and iproute2 (Compat/cases/replicas.sh: replicas in network namespaces behind a balancer) ---------
# Only the binaries: the case runs haproxy as its own process with a generated configuration.
if command -v apt-get >/dev/null 2>&1 && { ! command -v haproxy >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; }; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if ! DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq --no-install-recommends haproxy iproute2 >>"$log" 2>&1; then
        note "apt-get install haproxy iproute2 failed (see $log): the replicas case will be skipped"
    fi
fi

# --- Python virtualenv ---------------------------------------------------------------------------------------
if ! command -v python3 >/dev/null 2>&1; then
    note "no python3: the Python clients' cases will be skipped"
    exit 0
fi
if [ -x "$venv/bin/python" ] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$venv" # made by a Python that is gone
fi
if [ -x "$venv/bin/python" ] && cmp -s "$req" "$stamp"; then
    exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv" >>"$log"
    if ! python3 -m venv "$venv" >>"$log" 2>&1; then
        rm -rf "$venv"
        note "python3 -m venv failed (python3-venv missing?): using python3 as it is"
        exit 0
    fi
fi
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
echo "pip install -r $req" >>"$log"
if timeout 900 "${pip[@]}" -r "$req" >>"$log" 2>&1; then
    cp "$req" "$stamp"
    exit 0
fi
# One at a time, so that one package PyPI cannot give does not cost the others.
sed -e 's/#.*//' -e 's/[[:space:]]//g' "$req" | while read -r spec; do
    [ -n "$spec" ] || continue
    timeout 600 "${pip[@]}" "$spec" >>"$log" 2>&1 || note "pip could not install $spec (see $log)"
done
exit 0
