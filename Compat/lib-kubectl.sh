# Finding the kubectl binaries the cases run (sourced by lib.sh; bash only).

# kubectl_version PATH: "1.20.2" (empty when it does not run).
kubectl_version() {
    "$1" version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": *"v\([0-9][0-9.]*\).*/\1/p' | head -n 1
}

# kubectl_binaries DIR: every kubectl on this machine, oldest first, as KUBECTL_NAMES (versions, "1.20.2") and
# KUBECTL_PATHS. kubectl 1.20 is Debian's kubernetes-client, unpacked once into $WORK_DIR/kubectl-1.20 with
# apt-get download + dpkg-deb (run in DIR, log DIR/apt.log) so it never replaces /usr/bin/kubectl; then
# /usr/bin/kubectl when it is a real kubectl (the Google Cloud SDK's is a dispatcher that picks one by the server's
# /version) and every versioned kubectl.1.NN the Cloud SDK ships. Also sets KUBECTL_120 (its path, empty when
# missing, KUBECTL_120_WHY then says why) and KUBECTL_NEWEST/KUBECTL_NEWEST_NAME (the newest other than 1.20,
# empty when there is none).
kubectl_binaries() {
    local dir="$1" k20="$WORK_DIR/kubectl-1.20/usr/bin/kubectl" p v
    KUBECTL_NAMES=()
    KUBECTL_PATHS=()
    KUBECTL_120=""
    KUBECTL_120_WHY=""
    KUBECTL_NEWEST=""
    KUBECTL_NEWEST_NAME=""
    if [ ! -x "$k20" ]; then
        (
            cd "$dir" && apt-get download kubernetes-client >"$dir/apt.log" 2>&1 &&
                dpkg-deb -x kubernetes-client_*.deb "$WORK_DIR/kubectl-1.20" >>"$dir/apt.log" 2>&1
        ) || true
    fi
    if [ -x "$k20" ]; then
        KUBECTL_120="$k20"
        KUBECTL_NAMES+=("$(kubectl_version "$k20")")
        KUBECTL_PATHS+=("$k20")
    else
        KUBECTL_120_WHY="apt-get download kubernetes-client failed: $(tail -n 1 "$dir/apt.log" 2>/dev/null)"
    fi
    local -a others=()
    # Not `| grep -q`: under pipefail the early exit would fail kubectl with SIGPIPE now and then, and
    # let the dispatcher in.
    if [ -x /usr/bin/kubectl ] && [[ "$(/usr/bin/kubectl version --client 2>/dev/null)" != *dispatcher* ]]; then
        others+=(/usr/bin/kubectl)
    fi
    for p in /usr/lib/google-cloud-sdk/bin/kubectl.1.*; do
        [ -x "$p" ] && others+=("$p")
    done
    while read -r v p; do
        KUBECTL_NAMES+=("$v")
        KUBECTL_PATHS+=("$p")
        KUBECTL_NEWEST="$p"
        KUBECTL_NEWEST_NAME="$v"
    done < <(
        for p in "${others[@]}"; do
            v="$(kubectl_version "$p")"
            [ -n "$v" ] && printf '%s %s\n' "$v" "$p"
        done | sort -s -V -k1,1
    )
}
