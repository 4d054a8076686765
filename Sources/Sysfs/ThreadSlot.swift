import Glibc

/// One object per thread, made at the thread's first ask and released when
/// the thread ends: a slot of a pthread key. For the state a request keeps
/// on its own thread (the writing task of a store, a worker's reply buffer,
/// the notices deferred until a reply is sent). Made once, as a static:
/// the key is never deleted.
public final class ThreadSlot<Object: AnyObject>: @unchecked Sendable {
    @usableFromInline let key: pthread_key_t
    @usableFromInline let make: () -> Object

    public init(_ make: @escaping () -> Object) {
        var key = pthread_key_t()
        // The thread's object goes with it.
        pthread_key_create(&key) { raw in
            if let raw { Unmanaged<AnyObject>.fromOpaque(raw).release() }
        }
        self.key = key
        self.make = make
    }

    /// This thread's object, if it has made one.
    @inlinable public var existing: Object? {
        pthread_getspecific(key).map { Unmanaged<Object>.fromOpaque($0).takeUnretainedValue() }
    }

    /// This thread's object, made now if it has none.
    @inlinable public var object: Object {
        if let object = existing { return object }
        let object = make()
        pthread_setspecific(key, Unmanaged.passRetained(object).toOpaque())
        return object
    }
}
