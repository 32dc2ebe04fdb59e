# Node-addressed upstreams (issue 17 item 3), run with the Go client. Sourced by run.sh; acts in --gateway mode only.
#
# Two Go spdy-exec-servers stand in for kubelets on 127.0.0.2 and 127.0.0.3 (all of 127/8 is loopback on Linux),
# on the same port, each with its own NODE_ID in the environment of what it runs. One gateway forwards with
# --backend spdy://{node}:PORT and --node-addresses FILE, and a policy whose rule names nodes. Checked: each node's
# sessions reach its kubelet (node-proxy and /proxy/nodes forms), stdin bytes arrive whole, an unlisted node is a
# 404 Status before any upgrade, a listed node the policy leaves out is a 403, a form without a node a 400, and a
# changed file (by itself, then by SIGHUP) moves new sessions. About 15 s.

nodes_cases() {
    if [ "$MODE" != gateway ]; then
        return 0
    fi
    wanted nodes || return 0
    needs nodes spdy-go || return 0
    local dir="$CASE_DIR/nodes" port gw_port gw_pid label address id saved_case_dir="$CASE_DIR"
    mkdir -p "$dir"
    CASE_DIR="$dir"

    port="$(free_port)"
    for label in a:127.0.0.2 b:127.0.0.3; do
        id="kubelet-${label%%:*}"
        address="${label#*:}"
        rm -f "$dir/$id.port"
        start_bg "$dir/$id.log" env NODE_ID="$id" "$BIN_DIR/spdy-exec-server" -listen "$address:$port" \
            -port-file "$dir/$id.port" -request-log "$dir/$id.requests.jsonl"
        if ! wait_file "$dir/$id.port" "$BG_PID"; then
            fail_case nodes "spdy-exec-server on $address:$port did not start: $(brief "$dir/$id.log")"
            CASE_DIR="$saved_case_dir"
            return 0
        fi
    done

    printf 'node-a: 127.0.0.2\nnode-b: 127.0.0.3\nother-1: 127.0.0.2\n' >"$dir/nodes.yaml"
    # The second rule lets a request without a node past the policy, to reach the backend's 400.
    cat >"$dir/policy.yaml" <<'EOF'
rules:
  - groups: [system:unauthenticated]
    nodes: ["node-*"]
  - groups: [system:unauthenticated]
    namespaces: [kube-system]
EOF
    gw_port="$(free_port)"
    start_bg "$dir/gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$gw_port" --backend "spdy://{node}:$port" \
        --node-addresses "$dir/nodes.yaml" --policy "$dir/policy.yaml" --allow-anonymous
    gw_pid="$BG_PID"
    if ! wait_port "$gw_port" "$gw_pid"; then
        fail_case nodes "execbridge with a {node} backend did not start: $(brief "$dir/gateway.log")"
        CASE_DIR="$saved_case_dir"
        return 0
    fi
    local base="http://127.0.0.1:$gw_port" who
    who="$(command_query sh -c 'echo "$NODE_ID"')$(flags_query kubelet stdout,stderr)"

    run_client nodes-node-a "" "$base/api/v1/nodes/node-a/proxy/exec/default/demo/app?$who"
    check nodes-node-a 'expect_rc 0' 'expect_out kubelet-a' 'expect_status "$ST_SUCCESS"'
    run_client nodes-node-b "" "$base/proxy/nodes/node-b/exec/default/demo/app?$who"
    check nodes-node-b 'expect_rc 0' 'expect_out kubelet-b' 'expect_status "$ST_SUCCESS"'

    head -c 262144 /dev/urandom >"$dir/stdin.bin"
    local sum
    sum="$(sha256sum <"$dir/stdin.bin" | cut -d' ' -f1)"
    run_client nodes-stdin "$dir/stdin.bin" \
        "$base/api/v1/nodes/node-b/proxy/exec/default/demo/app?$(command_query sh -c 'echo "$NODE_ID" >&2; sha256sum')$(flags_query kubelet stdin,stdout,stderr)"
    check nodes-stdin 'expect_rc 0' 'expect_out "$sum  -"' 'expect_err_contains kubelet-b'

    run_client nodes-unknown "" "$base/api/v1/nodes/node-x/proxy/exec/default/demo/app?$who"
    check nodes-unknown 'expect_report http_status 404' 'expect_err_contains "nodes \"node-x\" not found"'

    run_client nodes-policy "" "$base/api/v1/nodes/other-1/proxy/exec/default/demo/app?$who"
    check nodes-policy 'expect_report http_status 403'

    run_client nodes-no-node "" "$base/exec/kube-system/demo/app?$who"
    check nodes-no-node 'expect_report http_status 400' 'expect_err_contains "names none"'

    # nodes_moved NAME WANT: node-a answers WANT within 10 s (the file is looked at once a second at most).
    nodes_moved() {
        local i
        for i in $(seq 20); do
            run_client "$1" "" "$base/api/v1/nodes/node-a/proxy/exec/default/demo/app?$who"
            [ "$(cat "$OUT")" = "$2" ] && return 0
            sleep 0.5
        done
        WHY="node-a still answers '$(brief "$OUT")', want '$2'"
        return 1
    }
    printf 'node-a: 127.0.0.3\nnode-b: 127.0.0.3\n' >"$dir/nodes.yaml.new"
    mv "$dir/nodes.yaml.new" "$dir/nodes.yaml"
    check nodes-file-change 'nodes_moved nodes-file-change kubelet-b' \
        'expect_file_contains "$dir/gateway.log" "node addresses reloaded"'

    printf 'node-a: 127.0.0.2\nnode-b: 127.0.0.3\n' >"$dir/nodes.yaml.new"
    mv "$dir/nodes.yaml.new" "$dir/nodes.yaml"
    kill -HUP "$gw_pid"
    check nodes-sighup 'nodes_moved nodes-sighup kubelet-a' \
        'expect_file_contains "$dir/gateway.log" "configuration reloaded"'

    stop_pid "$gw_pid"
    CASE_DIR="$saved_case_dir"
}

nodes_cases
