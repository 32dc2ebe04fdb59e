/// Every metric the gateway exports, in one place: the dashboard, the alert rules and the tests
/// name these, so a rename here is a rename there.
enum Names {
    static let sessionsStarted = "execbridge_sessions_started_total"
    static let sessionsEnded = "execbridge_sessions_ended_total"
    static let sessionsActive = "execbridge_sessions_active"
    static let bytes = "execbridge_session_bytes_total"
    static let durationSeconds = "execbridge_session_duration_seconds"
    static let setupSeconds = "execbridge_session_setup_seconds"
    static let refusals = "execbridge_refusals_total"
    static let upstreamDials = "execbridge_upstream_dials_total"
    static let upstreamDialErrors = "execbridge_upstream_dial_errors_total"
    static let upstreamDialSeconds = "execbridge_upstream_dial_seconds"
    static let connectionsOpen = "execbridge_connections_open"
    static let residentMemory = "execbridge_process_resident_memory_bytes"
    static let openFds = "execbridge_process_open_fds"
    static let configReloads = "execbridge_config_reloads_total"
    static let reloadFailing = "execbridge_config_reload_failing"

    /// Every family, with its Prometheus type (the dashboard and alert tests check against it).
    static let all: [String: String] = [
        sessionsStarted: "counter", sessionsEnded: "counter", sessionsActive: "gauge", bytes: "counter",
        durationSeconds: "histogram", setupSeconds: "histogram", refusals: "counter", upstreamDials: "counter",
        upstreamDialErrors: "counter", upstreamDialSeconds: "histogram", connectionsOpen: "gauge",
        residentMemory: "gauge", openFds: "gauge", configReloads: "counter", reloadFailing: "gauge",
    ]
}
