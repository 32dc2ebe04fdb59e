/// A decoded (or to-be-encoded) control frame, header blocks already inflated.
public enum SPDYControlFrame: Hashable, Sendable {
    case synStream(streamID: UInt32, associatedStreamID: UInt32 = 0, priority: UInt8 = 0, slot: UInt8 = 0,
                   fin: Bool = false, unidirectional: Bool = false, headers: SPDYHeaders)
    case synReply(streamID: UInt32, fin: Bool = false, headers: SPDYHeaders)
    case rstStream(streamID: UInt32, status: SPDYRstStatus)
    case settings(clearPrevious: Bool = false, [SPDYSetting])
    case ping(id: UInt32)
    case goAway(lastGoodStreamID: UInt32, status: SPDYGoAwayStatus)
    case headers(streamID: UInt32, fin: Bool = false, headers: SPDYHeaders)
    case windowUpdate(streamID: UInt32, delta: UInt32)

    public var type: SPDYControlType {
        switch self {
        case .synStream: return .synStream
        case .synReply: return .synReply
        case .rstStream: return .rstStream
        case .settings: return .settings
        case .ping: return .ping
        case .goAway: return .goAway
        case .headers: return .headers
        case .windowUpdate: return .windowUpdate
        }
    }
}
