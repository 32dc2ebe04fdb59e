import Glibc
import Synchronization

/// Loop confinement, asserted in debug builds as SwiftNIO's `preconditionInEventLoop` does.
///
/// A loop's objects belong to the thread that runs it. While the loop runs, any other thread that
/// touches them is a data race: the check traps. While it does not run (setup before the thread
/// starts, teardown after it stopped) whoever holds the loop may use it. In release builds the
/// check compiles to nothing, and entering or leaving the loop records nothing.
extension EventLoop {
    /// Traps (debug builds only) when called off the loop's thread while the loop runs.
    @inlinable @inline(__always)
    public func preconditionInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        #if DEBUG
        checkInEventLoop(file: file, line: line)
        #endif
    }

    /// True when called on the thread running the loop, or when the loop is not running. (Release
    /// builds do not record the running thread: there it is always true.)
    public var inEventLoop: Bool {
        let owner = runningThread.load(ordering: .acquiring)
        return owner == 0 || owner == currentThreadID()
    }

    @usableFromInline
    func checkInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "used off its event loop's thread (loop \(index))", file: file, line: line)
    }

    func enterLoop() {
        #if DEBUG
        runningThread.store(currentThreadID(), ordering: .releasing)
        #endif
    }

    func leaveLoop() {
        #if DEBUG
        runningThread.store(0, ordering: .releasing)
        #endif
    }
}

private func currentThreadID() -> UInt {
    UInt(pthread_self())
}
