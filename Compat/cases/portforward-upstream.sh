# Unmodified kubectl `port-forward` (1.20 and the newest here) through a forwarding gateway: kubectl (1.20 over
# SPDY, 1.31+ over the WebSocket tunnel it tries first) -> ExecBridge --backend spdy://, h2c:// or ws:// ->
# ExecBridge (local backend, inventory pod default/web listing the port of a `python3 -m http.server`) -> the
# HTTP server. kubectl's pod lookup passes through to the local gateway;
# each forwarded connection is a tunnel translated into the upstream's generation. Sourced by run.sh in --gateway
# mode; also runs on its own:
#
#   bash Compat/cases/portforward-upstream.sh --gateway .build/debug/execbridge [--only REGEX]
#
# Cells: pf-upstream-SCHEME-kubectl-VER-{get-4MiB-sha256,second-connection,refused-port}. About 15 s.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
    standalone_case portforward-upstream.sh "$@"
    CASE_DIR="$WORK_DIR/cases/portforward-upstream"
    rm -rf "$CASE_DIR"
    mkdir -p "$CASE_DIR"
    PFU_STANDALONE=1
fi

pfu_cases_main() {
    [ "${MODE:-}" = gateway ] || return 0
    local any=0 s c v
    for s in spdy h2c ws; do for c in get-4MiB-sha256 second-connection refused-port; do for v in 1.20 1.3 1.33; do
        wanted "pf-upstream-$s-kubectl-$v-$c" && any=1
    done; done; done
    [ "$any" = 1 ] || return 0
    local D="$CASE_DIR/portforward-upstream"
    mkdir -p "$D/www"
    : >"$D/kubeconfig"
    head -c 4194304 /dev/urandom >"$D/www/blob.bin"
    local sha
    sha="$(sha256sum <"$D/www/blob.bin" | cut -d' ' -f1)"

    # The pod's port: a real HTTP server.
    local http_port
    http_port="$(free_port)"
    (cd "$D/www" && exec python3 -m http.server "$http_port" --bind 127.0.0.1) >"$D/http.log" 2>&1 &
    BG_PID=$!
    STARTED_PIDS+=("$BG_PID")
    wait_port "$http_port" "$BG_PID" || { fail_case pf-upstream "python3 -m http.server did not start"; return 0; }

    printf 'pods:\n  - namespace: default\n    name: web\n    ports: [%s]\n    containers:\n      - name: app\n' \
        "$http_port" >"$D/inventory.yaml"
    local local_port
    local_port="$(free_port)"
    start_bg "$D/gateway-local.log" "$GATEWAY" serve --listen "127.0.0.1:$local_port" --inventory "$D/inventory.yaml"
    wait_port "$local_port" "$BG_PID" || { fail_case pf-upstream "the local gateway did not start"; return 0; }

    # kubectl 1.20 and the newest on the machine; cells are named by major.minor.
    local -a kubectls=() versions=()
    kubectl_binaries "$D"
    if [ -n "$KUBECTL_120" ]; then
        kubectls+=("$KUBECTL_120")
        versions+=("${KUBECTL_NAMES[0]%.*}")
    else
        skip_case pf-upstream-kubectl-1.20 "no kubectl 1.20 (apt-get download failed)"
    fi
    if [ -n "$KUBECTL_NEWEST" ]; then
        kubectls+=("$KUBECTL_NEWEST")
        versions+=("${KUBECTL_NEWEST_NAME%.*}")
    fi
    [ "${#kubectls[@]}" -gt 0 ] || { skip_case pf-upstream "no kubectl on this machine"; return 0; }

    local scheme fwd_port i
    for scheme in spdy h2c ws; do
        fwd_port="$(free_port)"
        start_bg "$D/gateway-via-$scheme.log" "$GATEWAY" serve --listen "127.0.0.1:$fwd_port" --backend "$scheme://127.0.0.1:$local_port"
        if ! wait_port "$fwd_port" "$BG_PID"; then
            fail_case "pf-upstream-$scheme" "the forwarding gateway did not start: $(tail -n 2 "$D/gateway-via-$scheme.log" | tr '\n' ' ')"
            continue
        fi
        for i in "${!kubectls[@]}"; do
            pfu_cells "pf-upstream-$scheme-kubectl-${versions[$i]:-unknown}" "${kubectls[$i]}" "$fwd_port" "$http_port" "$sha"
        done
    done
}

# pfu_forward NAME KUBECTL SERVER_PORT PORTSPEC: starts kubectl port-forward; sets PFU_PID and PFU_LOCAL (the local
# port from its "Forwarding from 127.0.0.1:L -> R" line). Fails after 15 s without that line.
pfu_forward() {
    local name="$1" bin="$2" server="$3" spec="$4" i line
    PFU_LOCAL=""
    start_bg "$CASE_DIR/portforward-upstream/$name.kubectl" env KUBECONFIG="$CASE_DIR/portforward-upstream/kubeconfig" \
        "$bin" --cache-dir "$CASE_DIR/portforward-upstream/cache-$(basename "$bin")" --server "http://127.0.0.1:$server" \
        port-forward pod/web "$spec"
    PFU_PID="$BG_PID"
    for i in $(seq 150); do
        line="$(grep -m 1 '^Forwarding from 127.0.0.1:' "$CASE_DIR/portforward-upstream/$name.kubectl" 2>/dev/null)"
        if [ -n "$line" ]; then
            PFU_LOCAL="$(printf '%s' "$line" | sed -n 's/^Forwarding from 127\.0\.0\.1:\([0-9]*\) .*/\1/p')"
            return 0
        fi
        kill -0 "$PFU_PID" 2>/dev/null || break
        sleep 0.1
    done
    WHY="kubectl port-forward did not listen: $(tail -n 3 "$CASE_DIR/portforward-upstream/$name.kubectl" | tr '\n' ' ')"
    return 1
}

# pfu_cells PREFIX KUBECTL FORWARDING_PORT HTTP_PORT SHA
pfu_cells() {
    local prefix="$1" bin="$2" server="$3" http_port="$4" sha="$5" out="$CASE_DIR/portforward-upstream"
    local got
    if wanted "$prefix-get-4MiB-sha256" || wanted "$prefix-second-connection"; then
        if pfu_forward "$prefix" "$bin" "$server" ":$http_port"; then
            got="$(curl -s --max-time 30 "http://127.0.0.1:$PFU_LOCAL/blob.bin" | sha256sum | cut -d' ' -f1)"
            WHY="sha256 through the tunnel $got, want $sha ($(tail -n 2 "$out/$prefix.kubectl" | tr '\n' ' '))"
            wanted "$prefix-get-4MiB-sha256" && check "$prefix-get-4MiB-sha256" '[ "$got" = "$sha" ]'
            # A second connection on the same kubectl: the listener and the upstream connection survived the first.
            got="$(curl -s --max-time 30 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PFU_LOCAL/")"
            WHY="second connection answered '$got' ($(tail -n 2 "$out/$prefix.kubectl" | tr '\n' ' '))"
            wanted "$prefix-second-connection" && check "$prefix-second-connection" '[ "$got" = 200 ]'
        else
            fail_case "$prefix-get-4MiB-sha256" "$WHY"
        fi
        stop_pid "$PFU_PID"
    fi
    if wanted "$prefix-refused-port"; then
        # Port 9 is not in the pod's list: the local backend refuses it, and the text crosses the upstream.
        if pfu_forward "$prefix-refused" "$bin" "$server" ":9"; then
            curl -s --max-time 10 -o /dev/null "http://127.0.0.1:$PFU_LOCAL/" || true
            local i
            for i in $(seq 50); do
                grep -q 'error forwarding port 9 to pod default/web' "$out/$prefix-refused.kubectl" && break
                sleep 0.1
            done
            WHY="kubectl did not report the refusal: $(tail -n 3 "$out/$prefix-refused.kubectl" | tr '\n' ' ')"
            check "$prefix-refused-port" "grep -q 'an error occurred forwarding $PFU_LOCAL -> 9: error forwarding port 9 to pod default/web' '$out/$prefix-refused.kubectl'"
        else
            fail_case "$prefix-refused-port" "$WHY"
        fi
        stop_pid "$PFU_PID"
    fi
}

pfu_cases_main
if [ "${PFU_STANDALONE:-0}" = 1 ]; then
    summary
fi
