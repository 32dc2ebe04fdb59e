# Port-forward with unmodified clients, against a gateway of its own (local backend, an inventory whose pod
# "demo" lists the port of a real HTTP server, `python3 -m http.server`, and a port where nothing listens).
# Sourced by run.sh in --gateway mode; also runs on its own:
#
#   bash Compat/cases/portforward.sh --gateway .build/debug/execbridge [--only REGEX]
#
# Clients: kubectl 1.20 (SPDY), the newest kubectl found (WebSocket tunnel SPDY/3.1+portforward.k8s.io first,
# shown by the audit line; and again with KUBECTL_PORT_FORWARD_WEBSOCKETS=false: SPDY), the official Python
# client's portforward helper (WebSocket v4.channel.k8s.io).
# Cells: pf-KUBECTL-{100MiB-sha256,parallel-50,closed-connection,aborted-download,refused,audit},
# pf-python-{sha256,refused}.
# About 30-60 s.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
    standalone_case portforward.sh "$@"
    CASE_DIR="$WORK_DIR/cases/portforward"
    rm -rf "$CASE_DIR"
    mkdir -p "$CASE_DIR"
    PF_STANDALONE=1
fi

portforward_cases_main() {
    if [ "${MODE:-}" != gateway ]; then
        skip_case portforward "port-forward needs a gateway (--gateway mode)"
        return 0
    fi
    wanted "pf-" || return 0
    local PFDIR="$CASE_DIR/portforward"
    mkdir -p "$PFDIR/www"
    : >"$PFDIR/kubeconfig"
    # The pod's files: 100 MiB (made once) and a small one for the parallel cells.
    local big="$WORK_DIR/data/portforward-100MiB.bin"
    mkdir -p "$WORK_DIR/data"
    [ "$(stat -c %s "$big" 2>/dev/null || echo 0)" = 104857600 ] || head -c 104857600 /dev/urandom >"$big"
    ln -sf "$big" "$PFDIR/www/big.bin"
    head -c 65536 "$big" >"$PFDIR/www/small.bin"
    PF_BIG_SHA="$(sha256sum <"$big" | cut -d' ' -f1)"
    PF_SMALL_SHA="$(sha256sum <"$PFDIR/www/small.bin" | cut -d' ' -f1)"

    PF_HTTP_PORT="$(free_port)"
    PF_REFUSED_PORT="$(free_port)"
    start_bg "$PFDIR/http.log" python3 -m http.server "$PF_HTTP_PORT" --bind 127.0.0.1 --directory "$PFDIR/www"
    wait_port "$PF_HTTP_PORT" "$BG_PID" || { fail_case pf-http-server "python3 -m http.server did not start"; return 0; }
    printf 'pods:\n  - namespace: default\n    name: demo\n    ports: [%s]\n    containers:\n      - name: app\n        ports: [%s]\n' \
        "$PF_HTTP_PORT" "$PF_REFUSED_PORT" >"$PFDIR/inventory.yaml"
    local gport
    gport="$(free_port)"
    PF_AUDIT="$PFDIR/audit.log"
    start_bg "$PFDIR/gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$gport" --inventory "$PFDIR/inventory.yaml" \
        --audit-log "$PF_AUDIT"
    wait_port "$gport" "$BG_PID" || { fail_case pf-gateway "$(tail -n 2 "$PFDIR/gateway.log" | tr '\n' ' ')"; return 0; }
    PF_BASE="http://127.0.0.1:$gport"

    # kubectl 1.20 and the newest kubectl here.
    kubectl_binaries "$PFDIR"
    if [ -n "$KUBECTL_120" ]; then pf_kubectl_cells "pf-kubectl-1.20" "$KUBECTL_120" SPDY/3.1; else skip_case pf-kubectl-1.20 "no kubectl 1.20"; fi
    if [ -n "$KUBECTL_NEWEST" ]; then
        local v="$KUBECTL_NEWEST_NAME"
        pf_kubectl_cells "pf-kubectl-$v" "$KUBECTL_NEWEST" WebSocket
        pf_kubectl_cells "pf-kubectl-$v-spdy-fallback" "$KUBECTL_NEWEST" SPDY/3.1 KUBECTL_PORT_FORWARD_WEBSOCKETS=false
    else
        skip_case pf-kubectl-newest "no recent kubectl on this machine"
    fi
    pf_python_cells
}

# pf_kubectl_cells CELL KUBECTL GENERATION [ENV=VALUE...]: one `kubectl port-forward` for all the cells.
pf_kubectl_cells() {
    local cell="$1" bin="$2" generation="$3"
    shift 3
    wanted "$cell-" || return 0
    local lport lref log="$CASE_DIR/$cell.kubectl.log" before
    lport="$(free_port)"
    lref="$(free_port)"
    before="$(wc -l <"$PF_AUDIT" 2>/dev/null || echo 0)"
    start_bg "$log" env KUBECONFIG="$CASE_DIR/portforward/kubeconfig" "$@" "$bin" \
        --cache-dir "$CASE_DIR/portforward/cache-$(basename "$bin")" --server "$PF_BASE" \
        port-forward --address 127.0.0.1 pod/demo "$lport:$PF_HTTP_PORT" "$lref:$PF_REFUSED_PORT"
    local kpid="$BG_PID"
    if ! wait_port "$lport" "$kpid"; then
        fail_case "$cell" "kubectl port-forward did not listen: $(tail -n 3 "$log" | tr '\n' ' ')"
        stop_pid "$kpid"
        return 0
    fi
    local url="http://127.0.0.1:$lport"
    run_cmd "$cell-100MiB-sha256" "" sh -c "curl -sS --max-time 50 '$url/big.bin' | sha256sum"
    check "$cell-100MiB-sha256" 'expect_rc 0' "expect_out '$PF_BIG_SHA  -'"

    run_cmd "$cell-parallel-50" "" sh -c "seq 50 | xargs -P 50 -I{} curl -sS --max-time 30 -o /dev/null -w '%{http_code} %{size_download}\n' '$url/small.bin' | sort | uniq -c | sed 's/^ *//'"
    check "$cell-parallel-50" 'expect_rc 0' "expect_out '50 200 65536'"

    # A client that connects and hangs up without a request: the forwarding goes on for the next one.
    run_cmd "$cell-closed-connection" "" bash -c "exec 3<>/dev/tcp/127.0.0.1/$lport; exec 3>&-; sleep 0.2; curl -sS --max-time 20 '$url/small.bin' | sha256sum"
    check "$cell-closed-connection" "expect_out '$PF_SMALL_SHA  -'"

    # One that hangs up in the middle of a download. kubectl before 1.2x stops reading the SPDY connection
    # once a local write failed (spdystream delivers a stream's frames to a reader that is gone), with
    # kubelet as with this gateway: only recent kubectl is asked to survive it.
    if [ "$cell" != pf-kubectl-1.20 ]; then
        run_cmd "$cell-aborted-download" "" sh -c "curl -sS --limit-rate 2M --max-time 0.5 -o /dev/null '$url/big.bin'; curl -sS --max-time 20 '$url/small.bin' | sha256sum"
        check "$cell-aborted-download" "expect_out '$PF_SMALL_SHA  -'"
    fi

    # The pod refuses the connection: kubectl reports the tunnel's error (and may stop forwarding after it).
    run_cmd "$cell-refused" "" curl -sS --max-time 10 "http://127.0.0.1:$lref/"
    local i
    for i in $(seq 50); do
        grep -q "error forwarding port $PF_REFUSED_PORT" "$log" && break
        sleep 0.1
    done
    check "$cell-refused" '[ "$RC" != 0 ] || { WHY="curl succeeded through a refused port"; false; }' \
        "grep -q 'error forwarding port $PF_REFUSED_PORT to pod default/demo: dial tcp4 127.0.0.1:$PF_REFUSED_PORT: connect: connection refused' '$log' || { WHY=\"kubectl did not report the refusal: \$(tail -n 2 '$log' | tr '\n' ' ')\"; false; }"
    stop_pid "$kpid"

    # Which generation carried the tunnels: the audit line of each one names it.
    local lines
    lines="$(tail -n +"$((before + 1))" "$PF_AUDIT" | grep '"kind":"portforward"')"
    check "$cell-audit" "[ -n \"\$lines\" ] || { WHY='no portforward audit line'; false; }" \
        "! printf '%s\n' \"\$lines\" | grep -v '\"generation\":\"$generation\"' | grep -q . || { WHY=\"a tunnel not on $generation: \$(printf '%s\n' \"\$lines\" | grep -v '\"generation\":\"$generation\"' | head -n 1)\"; false; }"
}

pf_python_cells() {
    wanted "pf-python-" || return 0
    local py="$WORK_DIR/venv/bin/python"
    [ -x "$py" ] || py=python3
    if ! "$py" -c 'import kubernetes.stream' 2>/dev/null; then
        skip_case pf-python "the kubernetes package is not installed for $py"
        return 0
    fi
    run_cmd pf-python-sha256 "" "$py" "$COMPAT_DIR/ws/k8s_portforward.py" --server "$PF_BASE" demo "$PF_HTTP_PORT" /small.bin
    check pf-python-sha256 'expect_rc 0' "expect_out '$PF_SMALL_SHA'"
    run_cmd pf-python-refused "" "$py" "$COMPAT_DIR/ws/k8s_portforward.py" --server "$PF_BASE" demo "$PF_REFUSED_PORT" /
    check pf-python-refused 'expect_rc 3' "expect_err_contains 'error forwarding port $PF_REFUSED_PORT to pod default/demo: dial tcp4 127.0.0.1:$PF_REFUSED_PORT: connect: connection refused'"
}

portforward_cases_main
if [ -n "${PF_STANDALONE:-}" ]; then summary; fi
