import Foundation
import TestSupport
import XCTest

/// chmod/chown live in the kernfs node: a node removed and made again at
/// the same path has its default mode and root as owner (issue 10, point 6).
final class NodeOwnershipTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    func testAChmodDoesNotOutliveItsNode() throws {
        let u = Expected.uuid1
        let r = try Simulator.bash("""
            m=/sys/devices/vfio_ap/matrix/\(u)
            echo \(u) > \(Expected.typeDir)/create
            chmod 0666 $m/assign_adapter; chown nobody $m/assign_adapter
            stat -c '%a %U' $m/assign_adapter
            echo 1 > $m/remove
            echo \(u) > \(Expected.typeDir)/create
            stat -c '%a %U' $m/assign_adapter
            setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c "echo 5 > $m/assign_adapter" 2>&1 | sed 's/^sh: 1: //'
            chmod 0600 /sys/devices/ap/card05/05.0004/online; echo -5 > /sys/bus/ap/apmask; echo +5 > /sys/bus/ap/apmask
            stat -c '%a' /sys/devices/ap/card05/05.0004/online
            """)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, "666 nobody\n200 root\ncannot create /sys/devices/vfio_ap/matrix/\(u)/assign_adapter: Permission denied\n644\n")
    }
}
