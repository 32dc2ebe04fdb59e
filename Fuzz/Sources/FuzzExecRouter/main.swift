@testable import ExecModel
import FuzzSupport

// The exec router (path forms, names, flags, command) and percent decoding, on an arbitrary target;
// the selector picks the method. Version negotiation runs on the same bytes as offered protocols.
fuzzMain { bytes in
    let input = FuzzInput(bytes)
    let text = String(decoding: input.rest, as: UTF8.self)
    let methods = ["GET", "POST", "PUT", "OPTIONS"]
    let method = methods[Int(input.selector) % methods.count]
    if case .success(let request)? = ExecRouter.route(method: method, target: text) {
        // An accepted request names nothing that failed validation.
        expect(!request.target.pod.isEmpty && !request.target.namespace.isEmpty, "empty name in \(request)")
        expect(!request.command.isEmpty || request.kind == .attach, "exec without command: \(request)")
    }
    _ = PercentDecoding.decode(text, plusIsSpace: input.selector & 1 == 1)
    let offers = VersionNegotiation.splitOffers(text.split(separator: "\n").map(String.init))
    _ = VersionNegotiation.negotiate(offered: offers, supported: ChannelVersion.allCases)
}
