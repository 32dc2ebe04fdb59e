/// Names of HTTP/2 frame types, flags, settings and error codes as transcripts write them (and as
/// a replay reads them back).
public enum HTTP2TraceNames {
    public static let frameTypes: [UInt8: String] = [
        0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE",
        6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION",
    ]

    public static let settings: [UInt16: String] = [
        1: "HEADER_TABLE_SIZE", 2: "ENABLE_PUSH", 3: "MAX_CONCURRENT_STREAMS", 4: "INITIAL_WINDOW_SIZE",
        5: "MAX_FRAME_SIZE", 6: "MAX_HEADER_LIST_SIZE", 8: "ENABLE_CONNECT_PROTOCOL",
    ]

    public static let errors: [UInt32: String] = [
        0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR", 4: "SETTINGS_TIMEOUT",
        5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR", 7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR",
        10: "CONNECT_ERROR", 11: "ENHANCE_YOUR_CALM", 12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED",
    ]

    public static func errorName(_ code: UInt32) -> String { errors[code] ?? "ERROR_\(code)" }

    public static func errorCode(_ name: String) -> UInt32? {
        if let entry = errors.first(where: { $0.value == name }) { return entry.key }
        return name.hasPrefix("ERROR_") ? UInt32(name.dropFirst(6)) : nil
    }

    public static func settingName(_ id: UInt16) -> String { settings[id] ?? "SETTING_\(id)" }

    public static func settingID(_ name: String) -> UInt16? {
        if let entry = settings.first(where: { $0.value == name }) { return entry.key }
        return name.hasPrefix("SETTING_") ? UInt16(name.dropFirst(8)) : nil
    }

    public static let endStream: UInt8 = 0x1
    public static let ack: UInt8 = 0x1
    public static let endHeaders: UInt8 = 0x4
    public static let padded: UInt8 = 0x8
    public static let priority: UInt8 = 0x20

    /// `END_STREAM|END_HEADERS`, `ACK` or `-`.
    public static func flagNames(type: UInt8, flags: UInt8) -> String {
        var names: [String] = []
        switch type {
        case 0:
            if flags & endStream != 0 { names.append("END_STREAM") }
        case 1:
            if flags & endStream != 0 { names.append("END_STREAM") }
            if flags & endHeaders != 0 { names.append("END_HEADERS") }
        case 4, 6:
            if flags & ack != 0 { names.append("ACK") }
        default:
            break
        }
        return names.isEmpty ? "-" : names.joined(separator: "|")
    }

    public static func flags(_ text: String) -> UInt8 {
        var value: UInt8 = 0
        for name in text.split(separator: "|") {
            switch name {
            case "END_STREAM", "ACK": value |= 0x1
            case "END_HEADERS": value |= endHeaders
            default: break
            }
        }
        return value
    }
}
