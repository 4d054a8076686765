import Foundation
import TestSupport
import XCTest

/// deploy/kubernetes: the publisher DaemonSet and the consumer pod agree
/// (same hostPath, Bidirectional out of the publisher, HostToContainer into
/// the consumer, FUSE and privileges on the publisher only), docs/CONTAINERS.md
/// quotes them as they are, and the pair works when run the way a node
/// would run it (with podman, the node's / a scratch directory).
final class KubernetesManifestTests: XCTestCase {
    func manifests() throws -> (publisher: Manifest, consumer: Manifest) {
        (try Manifest("publisher-daemonset.yaml"), try Manifest("consumer-pod.yaml"))
    }

    func testPublisherAndConsumerAgree() throws {
        let (publisher, consumer) = try manifests()
        XCTAssertEqual(publisher.kind, "DaemonSet")
        XCTAssertEqual(publisher.document["apiVersion"] as? String, "apps/v1")
        XCTAssertEqual(consumer.kind, "Pod")
        XCTAssertEqual(publisher.containers.count, 1)
        XCTAssertEqual(consumer.containers.count, 1)
        let pub = try XCTUnwrap(publisher.containers.first), con = try XCTUnwrap(consumer.containers.first)

        // The publisher serves an overlay at the mount that propagates out.
        let command = pub.command + pub.args
        XCTAssertEqual(Array(command.prefix(3)), ["mount", "--layout", "overlay"], "\(command)")
        let out = pub.volumeMounts.filter { $0.propagation == "Bidirectional" }
        XCTAssertEqual(out.count, 1, "one Bidirectional mount: \(pub.volumeMounts)")
        let served = try XCTUnwrap(out.first)
        XCTAssertEqual(command.last, served.path, "the overlay goes where the Bidirectional mount is")
        let servedHostPath = try XCTUnwrap(publisher.hostPath(served.name))

        // The consumer takes that host directory as its /sys, HostToContainer.
        let sys = try XCTUnwrap(con.volumeMounts.first { $0.path == "/sys" }, "the consumer mounts something at /sys")
        XCTAssertEqual(sys.propagation, "HostToContainer")
        XCTAssertEqual(consumer.hostPath(sys.name)?.path, servedHostPath.path)
        XCTAssertFalse(con.volumeMounts.contains { $0.propagation == "Bidirectional" })

        // /dev/fuse and mount privileges: the publisher's, never the consumer's.
        let fuse = try XCTUnwrap(pub.volumeMounts.first { $0.path == "/dev/fuse" }, "the publisher has /dev/fuse")
        XCTAssertEqual(publisher.hostPath(fuse.name)?.path, "/dev/fuse")
        XCTAssertEqual(publisher.hostPath(fuse.name)?.type, "CharDevice")
        XCTAssertTrue(pub.privileged || pub.addedCapabilities.contains("SYS_ADMIN"))
        // Kubernetes refuses Bidirectional propagation outside privileged containers.
        XCTAssertTrue(pub.privileged, "Bidirectional needs privileged: true")
        XCTAssertFalse(con.privileged)
        XCTAssertEqual(con.addedCapabilities, [])
        XCTAssertFalse(con.volumeMounts.contains { $0.path == "/dev/fuse" })
    }

    func testContainersDocQuotesTheManifests() throws {
        let doc = try String(contentsOfFile: Paths.repository + "/docs/CONTAINERS.md", encoding: .utf8)
        let (publisher, consumer) = try manifests()
        for m in [publisher, consumer] {
            XCTAssertTrue(doc.contains(m.text), "docs/CONTAINERS.md quotes \(m.file) verbatim")
        }
    }

    /// The pair as a node runs it: the consumer first (its hostPath is
    /// created empty), then the publisher, whose overlay reaches the consumer
    /// through the node; the consumer (no privileges) writes a mask; the
    /// publisher stops (the tree leaves the consumer) and starts again (a
    /// fresh host reaches it again).
    func testManifestsRunAsANodeWouldRunThem() throws {
        try Simulator.requireFuse()
        let scratch = try Scratch(self)
        defer { scratch.cleanUp() }
        let podman = scratch.podman
        let image = try TestImage.tag(podman: podman)
        try podman.requireWorking(image: image)
        let (publisher, consumer) = try manifests()
        let node = scratch.path("node")
        let consumerName = podman.name("consumer"), publisherName = podman.name("publisher")
        let consumerRun = try consumer.podmanRun(name: consumerName, image: image, nodeRoot: node)
        let publisherRun = try publisher.podmanRun(name: publisherName, image: image, nodeRoot: node)
        let dirs = (publisher.createdDirectories(nodeRoot: node) + consumer.createdDirectories(nodeRoot: node))
        let features = Procedure.features.trimmingCharacters(in: .newlines)
        let r = try scratch.inPrivateNamespace("""
            set -u
            N=$T/node
            mkdir -p "$N" && mount --bind "$N" "$N" && mount --make-rshared "$N" || exit 1
            mkdir -p \(shellQuoted(dirs))
            podman \(shellQuoted(consumerRun)) >/dev/null || exit 1
            podman \(shellQuoted(publisherRun)) >/dev/null || exit 1
            seen() { for i in $(seq 150); do podman logs "$C" 2>/dev/null | grep -q "$1" && return 0; sleep 0.1; done; return 1; }
            seen '\(features)' && echo "consumer: features seen"
            podman exec "$C" sh -c 'echo -5 > /sys/bus/ap/apmask && cat /sys/bus/ap/apmask'
            podman stop -t 10 "$P" >/dev/null
            echo "publisher exit $(podman inspect -f '{{.State.ExitCode}}' "$P")"
            podman exec "$C" sh -c '[ -e /sys/bus/ap ] && echo "consumer: tree still there" || echo "consumer: tree gone"'
            podman start "$P" >/dev/null
            podman exec "$C" sh -c 'for i in $(seq 150); do [ -e /sys/bus/ap/apmask ] && break; sleep 0.1; done; cat /sys/bus/ap/apmask'
            podman logs "$P"
            podman rm -f -t 10 "$P" >/dev/null
            podman rm -f -t 0 "$C" >/dev/null
            umount -R "$N"
            """, environment: ["C": consumerName, "P": publisherName], timeout: 120)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            consumer: features seen
            0xfbffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
            publisher exit 0
            consumer: tree gone
            \(Procedure.allOnesMask)\
            vfio-ap-sim: host 'node' ready at /host/sys (control: /run/vfio-ap-sim/node.sock)
            vfio-ap-sim: host 'node' ready at /host/sys (control: /run/vfio-ap-sim/node.sock)

            """, r.stderr)
    }
}
