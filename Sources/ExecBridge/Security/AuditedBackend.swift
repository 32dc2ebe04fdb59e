/// The backend's side of a session in the audit record. The local backend is `kind: local`; an
/// upstream backend adopts `AuditedBackend` to add where it connected and what it negotiated.
public struct AuditBackendSide: Sendable, Equatable {
    public var kind: String
    public var address: String?
    public var generation: String?
    public var version: String?

    public init(kind: String, address: String? = nil, generation: String? = nil, version: String? = nil) {
        self.kind = kind
        self.address = address
        self.generation = generation
        self.version = version
    }
}

/// A backend that can describe, for the audit record, how it ran a session. The
/// record is the ended session the audit line describes.
public protocol AuditedBackend: AnyObject {
    func auditSide(of session: SessionRecord) -> AuditBackendSide
}
