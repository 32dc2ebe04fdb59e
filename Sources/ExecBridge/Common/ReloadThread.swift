import Glibc

/// A detached thread for one piece of blocking work (a reload, a file reread, a name lookup), so
/// that no loop waits on the file system or DNS.
enum ReloadThread {
    final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    static func start(_ run: @escaping @Sendable () -> Void) {
        let body = Unmanaged.passRetained(Body(run))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue().run()
            return nil
        }, body.toOpaque())
        guard rc == 0 else {
            // No thread to be had: reloading on the caller's loop beats not reloading.
            body.takeRetainedValue().run()
            return
        }
        pthread_detach(thread)
    }
}
