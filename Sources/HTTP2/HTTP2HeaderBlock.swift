import Glibc

/// A received header block as the bytes nghttp2 handed over, copied once into the session's header
/// arena: a delegate that needs only a field or two (a health probe's `:method` and `:path`)
/// compares bytes and makes no `String`. Valid only during the delegate call that receives it.
public struct HTTP2HeaderBlock {
    let base: UnsafeRawPointer?
    let fields: UnsafeBufferPointer<HeaderArena.Field>

    public var count: Int { fields.count }

    public func name(at index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { $0 + fields[index].nameStart }, count: fields[index].nameLength)
    }

    public func value(at index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base.map { $0 + fields[index].valueStart }, count: fields[index].valueLength)
    }

    /// The value of the first field named `name` (received names are lowercase), or nil.
    public func first(_ name: StaticString) -> UnsafeRawBufferPointer? {
        for index in 0..<count where Self.bytes(self.name(at: index), equal: name) { return value(at: index) }
        return nil
    }

    /// Whether `bytes` are exactly `text` (a memcmp: the generic `elementsEqual` walks byte by byte).
    public static func bytes(_ bytes: UnsafeRawBufferPointer, equal text: StaticString) -> Bool {
        guard bytes.count == text.utf8CodeUnitCount else { return false }
        guard let start = bytes.baseAddress else { return true }
        return memcmp(start, text.utf8Start, bytes.count) == 0
    }

    /// The block as `HTTP2Header`s, as `didReceiveHeaders` delivers it.
    public var headers: [HTTP2Header] {
        var headers: [HTTP2Header] = []
        headers.reserveCapacity(count)
        for index in 0..<count {
            headers.append(HTTP2Header(name: HTTP2Header.text(name(at: index).assumingMemoryBound(to: UInt8.self)),
                                       value: HTTP2Header.text(value(at: index).assumingMemoryBound(to: UInt8.self))))
        }
        return headers
    }

    /// Trailers: not the first block, or a block without pseudo-headers (nghttp2 checked that they lead).
    var startsWithPseudoHeader: Bool {
        count > 0 && name(at: 0).first == UInt8(ascii: ":")
    }
}

/// The header block being received, one per connection (HTTP/2 sends a block's frames back to back,
/// so blocks never interleave). Reused block after block: no allocation once it is warm. Bounded by
/// the header list limit, which `collectHeader` checks before appending.
struct HeaderArena: ~Copyable {
    struct Field {
        var nameStart: Int
        var nameLength: Int
        var valueStart: Int
        var valueLength: Int
    }

    private var bytes: UnsafeMutableRawPointer? = nil
    private var byteCapacity = 0
    private var byteCount = 0
    private var fields: UnsafeMutablePointer<Field>? = nil
    private var fieldCapacity = 0
    private(set) var fieldCount = 0
    /// The stream whose block is being received (0: none).
    var stream: Int32 = 0
    /// RFC 9113 §6.5.2 size of the block so far: name + value + 32 per field.
    private(set) var listSize = 0

    init() {}

    deinit {
        bytes?.deallocate()
        fields?.deallocate()
    }

    /// Starts the block of `stream`, dropping the previous one.
    mutating func begin(stream: Int32) {
        self.stream = stream
        byteCount = 0
        fieldCount = 0
        listSize = 0
    }

    /// Counts a field against the list size without keeping it; returns the new size.
    mutating func account(nameLength: Int, valueLength: Int) -> Int {
        listSize += nameLength + valueLength + 32
        return listSize
    }

    mutating func append(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if byteCount + name.count + value.count > byteCapacity { growBytes(to: byteCount + name.count + value.count) }
        if fieldCount == fieldCapacity { growFields() }
        guard let bytes, let fields else { return }
        let nameStart = byteCount
        if let source = name.baseAddress { (bytes + byteCount).copyMemory(from: source, byteCount: name.count) }
        byteCount += name.count
        let valueStart = byteCount
        if let source = value.baseAddress { (bytes + byteCount).copyMemory(from: source, byteCount: value.count) }
        byteCount += value.count
        (fields + fieldCount).initialize(to: Field(nameStart: nameStart, nameLength: name.count,
                                                   valueStart: valueStart, valueLength: value.count))
        fieldCount += 1
    }

    /// The block received so far, valid until the next `reset` or `append`.
    var block: HTTP2HeaderBlock {
        HTTP2HeaderBlock(base: bytes.map { UnsafeRawPointer($0) },
                         fields: UnsafeBufferPointer(start: fields, count: fieldCount))
    }

    private mutating func growBytes(to needed: Int) {
        var capacity = max(byteCapacity, 512)
        while capacity < needed { capacity *= 2 }
        let fresh = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        if let bytes, byteCount > 0 { fresh.copyMemory(from: bytes, byteCount: byteCount) }
        bytes?.deallocate()
        bytes = fresh
        byteCapacity = capacity
    }

    private mutating func growFields() {
        let capacity = max(fieldCapacity * 2, 16)
        let fresh = UnsafeMutablePointer<Field>.allocate(capacity: capacity)
        if let fields { fresh.moveInitialize(from: fields, count: fieldCount) }
        fields?.deallocate()
        fields = fresh
        fieldCapacity = capacity
    }
}
