import TestSupport
import XCTest

/// A publisher started after the consumer: the consumer's /sys is a slave
/// (`:rslave`) of a shared directory on the host, and the host's overlay,
/// mounted there later, propagates in. The shared mount, the publisher and
/// podman all live in a private mount namespace of the test.
final class PropagationTests: XCTestCase {
    var scratch: Scratch!

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        scratch = try Scratch(self)
    }

    override func tearDown() { scratch?.cleanUp() }

    /// The consumer looks, finds nothing, polls (at most 15 s); the host is
    /// served; the consumer reads it. After the publisher stops, the tree is
    /// gone from the consumer too.
    func testPublisherStartedAfterConsumerIsSeenThroughRslave() throws {
        let podman = scratch.podman
        let image = try TestImage.tag(podman: podman)
        try podman.requireWorking(image: image)
        let consumerScript = """
            if [ -e /sys/bus/ap/apmask ]; then echo present; else echo absent; fi
            for i in $(seq 150); do [ -e /sys/bus/ap/apmask ] && break; sleep 0.1; done
            cat /sys/bus/ap/apmask /sys/devices/vfio_ap/matrix/features
            while [ -e /sys/bus/ap/apmask ] && [ $i -lt 300 ]; do i=$((i + 1)); sleep 0.1; done
            [ -e /sys/bus/ap/apmask ] && echo "still there" || echo "gone"
            """
        let r = try scratch.inPrivateNamespace("""
            set -u
            S=$T/shared
            mkdir -p "$S/sys" "$T/run"
            mount --bind "$S" "$S" && mount --make-rshared "$S" || exit 1
            podman run -d --name "$CONSUMER" --network=none -v "$S/sys:/sys:rslave" \\
                --entrypoint /bin/sh "$IMAGE" -c "$CONSUMER_SCRIPT" >/dev/null || exit 1
            for i in $(seq 100); do podman logs "$CONSUMER" 2>/dev/null | grep -q absent && break; sleep 0.1; done
            "$SIM" mount --layout overlay --name "$HOST" --runtime-dir "$T/run" "$S/sys" > "$T/publisher.out" 2>&1 &
            publisher=$!
            echo $publisher > "$T/publisher.pid"
            for i in $(seq 150); do grep -q ready "$T/publisher.out" && break; sleep 0.1; done
            sleep 0.5
            kill -TERM $publisher
            wait $publisher
            echo "publisher exit $?"
            echo "consumer exit $(podman wait "$CONSUMER")"
            podman logs "$CONSUMER"
            podman rm -f -t 0 "$CONSUMER" >/dev/null
            umount -R "$S"
            """, environment: ["CONSUMER": podman.name("consumer"), "IMAGE": image, "SIM": Simulator.binary,
                               "HOST": "propagation-\(getpid())", "CONSUMER_SCRIPT": consumerScript])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "publisher exit 0\nconsumer exit 0\nabsent\n"
                       + Procedure.allOnesMask + Procedure.features + "gone\n", r.stderr)
        let out = try String(contentsOfFile: scratch.path("publisher.out"), encoding: .utf8)
        XCTAssertTrue(out.hasPrefix("vfio-ap-sim: host 'propagation-\(getpid())' ready at \(scratch.path("shared/sys"))"), out)
    }

    /// Without :rslave (podman's default rprivate) the later publisher is
    /// never seen: why the recipes insist on it.
    func testPublisherStartedAfterConsumerIsNotSeenWithDefaultPropagation() throws {
        let podman = scratch.podman
        let image = try TestImage.tag(podman: podman)
        let r = try scratch.inPrivateNamespace("""
            set -u
            S=$T/shared
            mkdir -p "$S/sys" "$T/run"
            mount --bind "$S" "$S" && mount --make-rshared "$S" || exit 1
            podman run -d --name "$CONSUMER" --network=none -v "$S/sys:/sys" \\
                --entrypoint /bin/sh "$IMAGE" -c "$CONSUMER_SCRIPT" >/dev/null || exit 1
            "$SIM" mount --layout overlay --name "$HOST" --runtime-dir "$T/run" "$S/sys" > "$T/publisher.out" 2>&1 &
            publisher=$!
            echo $publisher > "$T/publisher.pid"
            for i in $(seq 150); do grep -q ready "$T/publisher.out" && break; sleep 0.1; done
            grep -q ready "$T/publisher.out" && echo "publisher ready"
            echo "consumer exit $(podman wait "$CONSUMER")"
            podman logs "$CONSUMER"
            kill -TERM $publisher
            wait $publisher
            podman rm -f -t 0 "$CONSUMER" >/dev/null
            umount -R "$S"
            """, environment: ["CONSUMER": podman.name("private"), "IMAGE": image, "SIM": Simulator.binary,
                               "HOST": "private-\(getpid())", "CONSUMER_SCRIPT": """
                                   for i in $(seq 30); do [ -e /sys/bus/ap/apmask ] && break; sleep 0.1; done
                                   [ -e /sys/bus/ap/apmask ] && echo present || echo absent
                                   """])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "publisher ready\nconsumer exit 0\nabsent\n", r.stderr)
    }
}
