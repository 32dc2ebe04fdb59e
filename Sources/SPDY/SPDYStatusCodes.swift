/// Status of a RST_STREAM frame. A struct rather than an enum so that a peer's unknown code survives decoding.
public struct SPDYRstStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let protocolError = SPDYRstStatus(rawValue: 1)
    public static let invalidStream = SPDYRstStatus(rawValue: 2)
    public static let refusedStream = SPDYRstStatus(rawValue: 3)
    public static let unsupportedVersion = SPDYRstStatus(rawValue: 4)
    public static let cancel = SPDYRstStatus(rawValue: 5)
    public static let internalError = SPDYRstStatus(rawValue: 6)
    public static let flowControlError = SPDYRstStatus(rawValue: 7)
    public static let streamInUse = SPDYRstStatus(rawValue: 8)
    public static let streamAlreadyClosed = SPDYRstStatus(rawValue: 9)
    public static let invalidCredentials = SPDYRstStatus(rawValue: 10)
    public static let frameTooLarge = SPDYRstStatus(rawValue: 11)

    public var description: String {
        switch rawValue {
        case 1: return "PROTOCOL_ERROR"
        case 2: return "INVALID_STREAM"
        case 3: return "REFUSED_STREAM"
        case 4: return "UNSUPPORTED_VERSION"
        case 5: return "CANCEL"
        case 6: return "INTERNAL_ERROR"
        case 7: return "FLOW_CONTROL_ERROR"
        case 8: return "STREAM_IN_USE"
        case 9: return "STREAM_ALREADY_CLOSED"
        case 10: return "INVALID_CREDENTIALS"
        case 11: return "FRAME_TOO_LARGE"
        default: return "RST_STREAM(\(rawValue))"
        }
    }
}

/// Status of a GOAWAY frame.
public struct SPDYGoAwayStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let ok = SPDYGoAwayStatus(rawValue: 0)
    public static let protocolError = SPDYGoAwayStatus(rawValue: 1)
    public static let internalError = SPDYGoAwayStatus(rawValue: 2)

    public var description: String {
        switch rawValue {
        case 0: return "OK"
        case 1: return "PROTOCOL_ERROR"
        case 2: return "INTERNAL_ERROR"
        default: return "GOAWAY(\(rawValue))"
        }
    }
}

/// One entry of a SETTINGS frame: flags(8) id(24) value(32).
public struct SPDYSetting: Hashable, Sendable {
    public var flags: UInt8
    public var id: UInt32
    public var value: UInt32

    public init(id: UInt32, value: UInt32, flags: UInt8 = 0) {
        self.id = id & 0x00ff_ffff
        self.value = value
        self.flags = flags
    }

    public static let maxConcurrentStreamsID: UInt32 = 4
    public static let initialWindowSizeID: UInt32 = 7

    public static func maxConcurrentStreams(_ n: UInt32) -> SPDYSetting { SPDYSetting(id: maxConcurrentStreamsID, value: n) }
    public static func initialWindowSize(_ n: UInt32) -> SPDYSetting { SPDYSetting(id: initialWindowSizeID, value: n) }
}

/// Control frame type codes. NOOP (5) and CREDENTIAL (10) are deliberately absent: spdystream dies on them.
public enum SPDYControlType: UInt16, Sendable {
    case synStream = 1
    case synReply = 2
    case rstStream = 3
    case settings = 4
    case ping = 6
    case goAway = 7
    case headers = 8
    case windowUpdate = 9
}

/// Wire constants shared by encoder and decoder.
public enum SPDYWire {
    public static let version: UInt16 = 3
    public static let flagFin: UInt8 = 0x01
    public static let flagUnidirectional: UInt8 = 0x02
    public static let flagSettingsClear: UInt8 = 0x01
    public static let maxStreamID: UInt32 = 0x7fff_ffff
    public static let maxFrameLength = 0x00ff_ffff
    public static let frameHeaderSize = 8
    /// SPDY/3.1's default stream and session window.
    public static let defaultWindow = 65536
}
