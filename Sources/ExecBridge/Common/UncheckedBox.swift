/// A value moved to another thread on purpose (the receiver is the only one to touch it).
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
