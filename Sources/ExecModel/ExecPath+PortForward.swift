extension ExecPath {
    /// The names after `portForward`: `{ns}/{pod}` or `{ns}/{pod}/{uid}`.
    static func portForwardTail(_ names: [Substring], form: PathForm, node: Substring?) -> ExecPath? {
        switch names.count {
        case 2:
            return ExecPath(form: form, kind: .portForward, node: node, namespace: names[0], pod: names[1],
                            container: nil)
        case 3:
            return ExecPath(form: form, kind: .portForward, node: node, namespace: names[0], pod: names[1],
                            podUID: names[2], container: nil)
        default:
            return nil
        }
    }
}
