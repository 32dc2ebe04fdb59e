/// The channels of an exec session, numbered as the WebSocket channel protocol numbers them.
public enum Channel: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case stdin = 0
    case stdout = 1
    case stderr = 2
    case error = 3
    case resize = 4

    /// The `streamType` header value of SPDY and HTTP/2 channel streams.
    public var streamType: String {
        switch self {
        case .stdin: return "stdin"
        case .stdout: return "stdout"
        case .stderr: return "stderr"
        case .error: return "error"
        case .resize: return "resize"
        }
    }

    public init?(streamType: String) {
        switch streamType {
        case "stdin": self = .stdin
        case "stdout": self = .stdout
        case "stderr": self = .stderr
        case "error": self = .error
        case "resize": self = .resize
        default: return nil
        }
    }

    public var description: String { streamType }

    /// The order in which client-go opens channel streams.
    public static let creationOrder: [Channel] = [.error, .stdin, .stdout, .stderr, .resize]

    /// WebSocket v5's close signal travels on this channel number.
    public static let closeSignal: UInt8 = 255
}
