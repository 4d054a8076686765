import CFuse

/// A FUSE request, held by a writer's closures while its store runs (the
/// request stays valid until it is answered).
struct RequestReference: @unchecked Sendable {
    let req: fuse_req_t?
    init(_ req: fuse_req_t?) { self.req = req }
}
