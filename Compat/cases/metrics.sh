# --metrics-listen (docs/operations.md "Metrics"): a second gateway with a metrics listener; prometheus_client's own
# text parser reads /metrics (families and types), sessions run through `execbridge exec` on every protocol, and
# the counters must move by exactly what ran (Compat/metrics/check_metrics.py). A public metrics address without
# authentication must refuse to start and name the option. Gateway mode only.

in_mode gateway || return 0

if needs metrics py:prometheus_client; then
    if wanted metrics-counters-move; then
        METRICS_PORT="$(free_port)"
        if start_gateway metrics --metrics-listen "127.0.0.1:$METRICS_PORT" && wait_port "$METRICS_PORT" "$GW_PID"; then
            run_cmd metrics-counters-move "" "$PY" "$COMPAT_DIR/metrics/check_metrics.py" --gateway "$GATEWAY" \
                --port "$GW_PORT" --metrics-port "$METRICS_PORT"
            WHY_OUT() { WHY="$(brief "$OUT") $(brief "$ERR")"; }
            check metrics-counters-move '[ "$RC" = 0 ] || { WHY_OUT; false; }'
        else
            fail_case metrics-counters-move "the gateway did not serve --metrics-listen: $(tail -n 3 "$CASE_DIR/metrics.log" | tr '\n' ' ')"
        fi
    fi
fi

if wanted metrics-public-without-auth-refused; then
    run_cmd metrics-public-without-auth-refused "" "$GATEWAY" serve --listen "127.0.0.1:$(free_port)" \
        --metrics-listen "0.0.0.0:$(free_port)"
    check metrics-public-without-auth-refused '[ "$RC" != 0 ] || { WHY="it started (exit $RC)"; false; }' \
        'expect_err_contains "refusing --metrics-listen 0.0.0.0:"' 'expect_err_contains "--token-file"'
fi
