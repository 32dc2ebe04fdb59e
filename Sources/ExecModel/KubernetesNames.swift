/// Kubernetes name validation (apimachinery `pkg/util/validation`), with its exact error texts so that a
/// refused request reads as the apiserver's would.
public enum KubernetesNames {
    public static let dns1123LabelMaxLength = 63
    public static let dns1123SubdomainMaxLength = 253

    private static let labelFormat = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
    private static let labelMessage = "a lowercase RFC 1123 label must consist of lower case alphanumeric "
        + "characters or '-', and must start and end with an alphanumeric character"
    private static let subdomainMessage = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
        + "characters, '-' or '.', and must start and end with an alphanumeric character"

    /// Empty when `value` is a DNS-1123 subdomain (namespace, pod and node names).
    public static func dns1123SubdomainErrors(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > dns1123SubdomainMaxLength { errors.append(maxLengthError(dns1123SubdomainMaxLength)) }
        if !isSubdomain(value) {
            errors.append(subdomainMessage + " (e.g. 'example.com', regex used for validation is '"
                          + labelFormat + "(\\." + labelFormat + ")*')")
        }
        return errors
    }

    /// Empty when `value` is a DNS-1123 label (container names).
    public static func dns1123LabelErrors(_ value: String) -> [String] {
        var errors: [String] = []
        if value.utf8.count > dns1123LabelMaxLength { errors.append(maxLengthError(dns1123LabelMaxLength)) }
        if !isLabel(value.utf8[...]) {
            if isSubdomain(value) {
                // Every label is a subdomain, so the dots are the only fault.
                errors.append("must not contain dots")
            } else {
                errors.append(labelMessage + " (e.g. 'my-name',  or '123-abc', regex used for validation is '"
                              + labelFormat + "')")
            }
        }
        return errors
    }

    private static func maxLengthError(_ length: Int) -> String { "must be no more than \(length) characters" }

    private static func isSubdomain(_ value: String) -> Bool {
        value.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).allSatisfy(isLabel)
    }

    /// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without its length bound.
    private static func isLabel(_ label: Substring.UTF8View) -> Bool {
        guard let first = label.first, let last = label.last, isAlnum(first), isAlnum(last) else { return false }
        return label.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
    }

    private static func isAlnum(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
