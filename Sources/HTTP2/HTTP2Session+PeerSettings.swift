import CNghttp2

/// What a client needs to share one connection between many sessions.
extension HTTP2Session {
    /// SETTINGS_MAX_CONCURRENT_STREAMS the peer allows us (unlimited until its SETTINGS say).
    public var peerMaxConcurrentStreams: UInt32 {
        nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    }
}
