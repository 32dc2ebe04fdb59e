import CNghttp2

/// Starting a session: prior knowledge (`start`) or h2c upgrade, either role (RFC 7540 §3.2).
extension HTTP2Session {
    /// Queues our SETTINGS (and the connection window). A client's first flush writes the preface.
    public func start() throws {
        guard !started else { throw HTTP2Error.invalidState("session already started") }
        try submitLocalSettings()
        try enlargeConnectionWindow()
        started = true
    }

    /// Server side of an h2c upgrade, after the 101 went out: `settingsPayload` is the decoded
    /// HTTP2-Settings header. Stream 1 (the upgrade request) is half-closed (remote); no headers are
    /// reported for it — answer it with `submitResponse(stream: 1, ...)`. Then feed the bytes after
    /// the HTTP/1.1 request head (the client preface) to `receive`.
    public func upgradeFromHTTP1(settingsPayload: [UInt8], headRequest: Bool = false) throws {
        guard role == .server else { throw HTTP2Error.invalidState("upgradeFromHTTP1 is for the server role") }
        guard !started else { throw HTTP2Error.invalidState("session already started") }
        guard settingsPayload.count % 6 == 0 else {
            throw HTTP2Error.library(code: NGHTTP2_ERR_INVALID_ARGUMENT.rawValue,
                                     message: "HTTP2-Settings payload is not a whole number of entries")
        }
        try submitLocalSettings()
        let rv = settingsPayload.withUnsafeBufferPointer {
            nghttp2_session_upgrade2(session, $0.baseAddress, $0.count, headRequest ? 1 : 0, nil)
        }
        try check(rv)
        try enlargeConnectionWindow()
        started = true
        openUpgradedStream()
        _ = notePeerStream(1)
    }

    /// Server side of an h2c upgrade from the header's text (base64url, as sent).
    public func upgradeFromHTTP1(http2SettingsHeader value: String, headRequest: Bool = false) throws {
        guard let payload = Base64URL.decode(value) else {
            throw HTTP2Error.library(code: NGHTTP2_ERR_INVALID_ARGUMENT.rawValue,
                                     message: "HTTP2-Settings is not base64url")
        }
        try upgradeFromHTTP1(settingsPayload: payload, headRequest: headRequest)
    }

    /// Client side of an h2c upgrade, after the server's 101: our request became stream 1,
    /// half-closed (local); its response arrives as headers on stream 1. The upgrade request must
    /// have carried `settingsHeaderValue` (this session's own settings). Replaces `start()`.
    public func clientUpgraded(headRequest: Bool = false) throws {
        guard role == .client else { throw HTTP2Error.invalidState("clientUpgraded is for the client role") }
        guard !started else { throw HTTP2Error.invalidState("session already started") }
        let payload = Self.settingsPayloadForUpgrade(settings)
        // For a client nghttp2 submits these settings itself.
        let rv = payload.withUnsafeBufferPointer {
            nghttp2_session_upgrade2(session, $0.baseAddress, $0.count, headRequest ? 1 : 0, nil)
        }
        try check(rv)
        try enlargeConnectionWindow()
        started = true
        openUpgradedStream()
    }

    /// The SETTINGS payload a client with `settings` puts (base64url-encoded) in HTTP2-Settings.
    public static func settingsPayloadForUpgrade(_ settings: HTTP2Settings) -> [UInt8] {
        let entries = settings.entries(isServer: false)
        var payload = [UInt8](repeating: 0, count: entries.count * 6)
        let written = payload.withUnsafeMutableBufferPointer { buffer in
            entries.withUnsafeBufferPointer {
                nghttp2_pack_settings_payload(buffer.baseAddress, buffer.count, $0.baseAddress, $0.count)
            }
        }
        return written >= 0 ? Array(payload.prefix(written)) : []
    }

    /// The HTTP2-Settings header value for a client with `settings`.
    public static func settingsHeaderValue(_ settings: HTTP2Settings) -> String {
        Base64URL.encode(settingsPayloadForUpgrade(settings))
    }

    /// Decodes an HTTP2-Settings header value; nil when it is not base64url.
    public static func decodeSettingsHeader(_ value: String) -> [UInt8]? {
        Base64URL.decode(value)
    }
}
