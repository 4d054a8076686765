import Foundation
import TestSupport
import Yams

/// A Kubernetes manifest of deploy/kubernetes, read with Yams, and what
/// kubelet and a CRI runtime would make of its pod: the podman arguments of
/// the same container (hostPath volumes as binds below a stand-in node root,
/// mountPropagation as bind propagation, privileged and capabilities as
/// flags).
struct Manifest {
    let file: String
    let document: [String: Any]

    init(_ name: String) throws {
        file = Paths.repository + "/deploy/kubernetes/" + name
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let d = try Yams.load(yaml: text) as? [String: Any] else { throw FixtureError(description: "\(file): not a mapping") }
        document = d
    }

    var text: String { (try? String(contentsOfFile: file, encoding: .utf8)) ?? "" }
    var kind: String? { document["kind"] as? String }

    /// spec.template.spec of a workload, spec of a Pod.
    var podSpec: [String: Any] {
        let spec = document["spec"] as? [String: Any] ?? [:]
        if kind == "Pod" { return spec }
        return (spec["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:]
    }

    var containers: [Container] { (podSpec["containers"] as? [[String: Any]] ?? []).map(Container.init) }

    var volumes: [String: [String: Any]] {
        var out: [String: [String: Any]] = [:]
        for v in podSpec["volumes"] as? [[String: Any]] ?? [] { if let n = v["name"] as? String { out[n] = v } }
        return out
    }

    /// The hostPath (path, type) of a volume.
    func hostPath(_ volume: String) -> (path: String, type: String?)? {
        guard let h = volumes[volume]?["hostPath"] as? [String: Any], let p = h["path"] as? String else { return nil }
        return (p, h["type"] as? String)
    }

    struct Container {
        let fields: [String: Any]
        init(_ fields: [String: Any]) { self.fields = fields }
        var command: [String] { fields["command"] as? [String] ?? [] }
        var args: [String] { fields["args"] as? [String] ?? [] }
        var securityContext: [String: Any] { fields["securityContext"] as? [String: Any] ?? [:] }
        var privileged: Bool { securityContext["privileged"] as? Bool ?? false }
        var addedCapabilities: [String] {
            (securityContext["capabilities"] as? [String: Any])?["add"] as? [String] ?? []
        }
        var volumeMounts: [(name: String, path: String, propagation: String?)] {
            (fields["volumeMounts"] as? [[String: Any]] ?? []).compactMap { m in
                guard let n = m["name"] as? String, let p = m["mountPath"] as? String else { return nil }
                return (n, p, m["mountPropagation"] as? String)
            }
        }
    }

    /// `podman run -d` of the first container, as a node whose / is
    /// `nodeRoot` would run it, from `image` (the manifest's own image
    /// needs a registry). CharDevice hostPaths are the machine's devices.
    func podmanRun(name: String, image: String, nodeRoot: String) throws -> [String] {
        guard let c = containers.first else { throw FixtureError(description: "\(file): no container") }
        var args = ["run", "-d", "--name", name, "--network=none"]
        if c.privileged { args.append("--privileged") }
        for cap in c.addedCapabilities { args += ["--cap-add", cap] }
        for m in c.volumeMounts {
            guard let h = hostPath(m.name) else { throw FixtureError(description: "\(file): volume \(m.name) is not a hostPath") }
            if h.type == "CharDevice" {
                args += ["--device", h.path + ":" + m.path]
                continue
            }
            // What containerd and CRI-O make of mountPropagation.
            let propagation = ["Bidirectional": "rshared", "HostToContainer": "rslave"][m.propagation ?? ""] ?? "rprivate"
            args += ["--mount", "type=bind,src=\(nodeRoot + h.path),dst=\(m.path),bind-propagation=\(propagation)"]
        }
        if let entry = c.command.first { args += ["--entrypoint", entry] }
        return args + [image] + c.command.dropFirst() + c.args
    }

    /// The directories DirectoryOrCreate hostPaths would have on the node.
    func createdDirectories(nodeRoot: String) -> [String] {
        volumes.keys.sorted().compactMap { n in
            guard let h = hostPath(n), h.type == "DirectoryOrCreate" else { return nil }
            return nodeRoot + h.path
        }
    }
}
