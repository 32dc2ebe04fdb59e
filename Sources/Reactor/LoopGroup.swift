import Glibc

/// N event loops, each on its own thread. A connection and everything of its session stay on the
/// loop that accepted it.
public final class LoopGroup: @unchecked Sendable {
    public let loops: [EventLoop]
    private var threads: [pthread_t] = []

    public init(count: Int) {
        loops = (0..<max(1, count)).map { EventLoop(index: $0) }
    }

    /// Starts every loop on a thread of its own.
    public func start() {
        for loop in loops {
            var thread = pthread_t()
            let arg = Unmanaged.passRetained(loop).toOpaque()
            let rc = pthread_create(&thread, nil, loopThreadMain, arg)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
    }

    /// Waits for every loop thread to return (after each loop was stopped).
    public func join() {
        for thread in threads { pthread_join(thread, nil) }
        threads.removeAll()
    }

    public func stopAll() {
        for loop in loops { loop.stop() }
    }
}

private func loopThreadMain(_ arg: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let loop = Unmanaged<EventLoop>.fromOpaque(arg!).takeRetainedValue()
    loop.runUntilStopped()
    return nil
}
