import ExecModel
import Logging

/// Writes the audit line of every session that ended and every request refused, on the worker's loop.
final class AuditObserver: SessionObserver {
    private let log: AuditLog
    private let redactor: AuditRedactor
    private let backend: Backend
    private let logger: Logger
    private var failedWrites = 0

    init(log: AuditLog, redactor: AuditRedactor, backend: Backend, logger: Logger) {
        self.log = log
        self.redactor = redactor
        self.backend = backend
        self.logger = logger
    }

    func refused(_ request: ExecRequest, context: RequestContext, error: RequestError) {
        write(AuditRecord.refusal(request, context: context, error: error, backend: side(nil), redactor: redactor))
    }

    func observed(_ event: RequestEvent) {
        write(AuditRecord.event(event, backend: side(nil), redactor: redactor))
    }

    func ended(_ record: SessionRecord) {
        write(AuditRecord.session(record, backend: side(record), redactor: redactor))
    }

    private func side(_ record: SessionRecord?) -> AuditBackendSide {
        if let record, let audited = backend as? AuditedBackend { return audited.auditSide(of: record) }
        return AuditBackendSide(kind: backend.auditKind)
    }

    private func write(_ line: String) {
        guard !log.write(line: line) else { return }
        // Said once per worker and then every thousandth time: a full disk must not flood the log.
        if failedWrites % 1000 == 0 {
            logger.error("audit log write failed", metadata: ["path": "\(log.path)", "failures": "\(failedWrites + 1)"])
        }
        failedWrites += 1
    }
}
