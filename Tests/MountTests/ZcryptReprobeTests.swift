import TestSupport
import XCTest

/// A queue or card that cex4queue or cex4card probes again is a new zcrypt
/// device, online whatever the old one was (zcrypt_cex4_queue_probe and
/// zcrypt_cex4_card_probe register a new device, online by default),
/// checked with shell writes through a mount.
final class ZcryptReprobeTests: XCTestCase {
    var fixtures: [MountFixture] = []

    override func setUpWithError() throws { try Simulator.requireFuse() }

    override func tearDown() {
        for f in fixtures { f.cleanUp() }
        fixtures.removeAll()
    }

    func mount(_ name: String) throws -> MountFixture {
        let f = try MountFixture(name: name)
        fixtures.append(f)
        try f.start()
        return f
    }

    func shell(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let r = try ProcessRunner.run(["/bin/sh", "-c", "set -e\n" + script], file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        XCTAssertEqual(r.status, 0, file: file, line: line)
        return r.stdout.split(separator: "\n").map(String.init)
    }

    /// Offline, to vfio_ap (apmask) and back to cex4queue: online again.
    func testAQueueBackOnCEX4QueueIsOnline() throws {
        let f = try mount("reprobe-queue")
        let out = try shell("""
            Q=\(f.path("devices/ap/card05/05.0004"))
            echo 0 > $Q/online
            cat $Q/online
            echo -5 > \(f.path("bus/ap/apmask"))
            basename $(readlink $Q/driver)
            echo +5 > \(f.path("bus/ap/apmask"))
            basename $(readlink $Q/driver)
            cat $Q/online
            cat \(f.path("devices/ap/card05/05.00ab"))/online
            """)
        XCTAssertEqual(out, ["0", "vfio_ap", "cex4queue", "1", "1"])
    }

    /// The same through unbind and bind of the queue driver.
    func testAQueueUnboundAndBoundIsOnline() throws {
        let f = try mount("rebind-queue")
        let out = try shell("""
            Q=\(f.path("devices/ap/card05/05.0004"))
            D=\(f.path("bus/ap/drivers/cex4queue"))
            echo 0 > $Q/online
            echo 05.0004 > $D/unbind
            echo 05.0004 > $D/bind
            cat $Q/online
            """)
        XCTAssertEqual(out, ["1"])
    }

    /// An offline card unbound from cex4card and bound again is online;
    /// its queues, still bound to cex4queue, keep their zcrypt queues and
    /// so stay offline.
    func testACardBoundAgainIsOnline() throws {
        let f = try mount("rebind-card")
        let out = try shell("""
            C=\(f.path("devices/ap/card05"))
            D=\(f.path("bus/ap/drivers/cex4card"))
            echo 0 > $C/online
            cat $C/online
            echo card05 > $D/unbind
            echo card05 > $D/bind
            cat $C/online
            cat $C/05.0004/online
            """)
        XCTAssertEqual(out, ["0", "1", "0"])
    }
}
