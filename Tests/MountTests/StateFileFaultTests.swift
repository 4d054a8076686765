import Foundation
import TestSupport
import XCTest

/// The state file's directory fills up, turns read-only or goes away under
/// a running host; the runtime directory is full or read-only (issue 10,
/// point 12's fault tests). Writes go on succeeding as the kernel's would,
/// the failure is said once on stderr with the path and strerror, and the
/// first change after the fault is gone saves everything. Each test runs in
/// a mount namespace of its own (tmpfs and bind mounts made there only).
final class StateFileFaultTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        try Simulator.requireFuse()
        root = try TestDirectory.make("statefault")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// SCRIPT (sh) in a private mount namespace, with `start_host STATE`
    /// (a host named h at $R/mnt, stderr to $R/err) and `stop_host`.
    private func inNamespace(_ script: String) throws -> ProcessResult {
        try ProcessRunner.run(["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", """
            R=\(root); M=$R/mnt; MX=$M/devices/vfio_ap/matrix
            mkdir -p $M
            start_host() {
                "$SIM" mount --name h --runtime-dir $R/run --state "$1" $M > $R/ready 2> $R/err &
                HOST=$!
                for i in $(seq 200); do [ -s $R/ready ] && return 0; kill -0 $HOST 2>/dev/null || break; sleep 0.05; done
                echo "host did not start: $(cat $R/err)"; exit 98
            }
            stop_host() { kill $HOST; wait $HOST; echo "host status $?"; }
            errors() { sed "s|$R|R|g" $R/err; }
            \(script)
            """], environment: ["SIM": Simulator.binary], timeout: 90)
    }

    private static let goesOn = "; the host goes on serving, and saves again at its next change"

    func testAFullFileSystem() throws {
        let r = try inNamespace("""
            mkdir $R/small && mount -t tmpfs -o size=128k vfio-ap-sim-test $R/small || exit 99
            start_host $R/small/h.state
            echo -5,-6 > $M/bus/ap/apmask && echo "apmask written"
            head -c 1M /dev/zero > $R/small/filler 2>/dev/null
            echo -4 > $M/bus/ap/aqmask && echo "aqmask written while full"
            echo -0x47 > $M/bus/ap/aqmask && echo "again"
            cat $M/bus/ap/aqmask
            ls $R/small
            errors
            rm $R/small/filler
            echo -0xab > $M/bus/ap/aqmask && echo "aqmask written with room"
            errors | tail -1
            stop_host
            start_host $R/small/h.state
            cat $M/bus/ap/apmask $M/bus/ap/aqmask
            stop_host
            """)
        XCTAssertEqual(r.lines, [
            "apmask written",
            "aqmask written while full",
            "again",
            "0xf7fffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffff",
            "filler", "h.state", "h.state.lock",
            "vfio-ap-sim: cannot save the host's state to R/small/h.state: write R/small/h.state.tmp: No space left on device\(Self.goesOn)",
            "aqmask written with room",
            "vfio-ap-sim: the host's state is saved to R/small/h.state again",
            "host status 0",
            "0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "0xf7fffffffffffffffeffffffffffffffffffffffffefffffffffffffffffffff",
            "host status 0",
        ], r.stdout + r.stderr)
    }

    func testAReadOnlyFileSystemAndAVanishedDirectory() throws {
        let r = try inNamespace("""
            mkdir $R/st
            start_host $R/st/h.state
            mount --bind $R/st $R/st && mount -o remount,bind,ro $R/st || exit 99
            echo -5 > $M/bus/ap/apmask && echo "written read-only"
            errors
            umount $R/st
            echo -6 > $M/bus/ap/apmask && echo "written read-write"
            rm -r $R/st
            echo -4 > $M/bus/ap/aqmask && echo "written without a directory"
            chmod 0600 $M/bus/ap/aqmask && echo "chmod without a directory"
            mkdir $R/st
            echo -0x47 > $M/bus/ap/aqmask && echo "written with the directory back"
            errors
            stop_host
            start_host $R/st/h.state
            cat $M/bus/ap/apmask $M/bus/ap/aqmask; stat -c %a $M/bus/ap/aqmask
            stop_host
            """)
        XCTAssertEqual(r.lines, [
            "written read-only",
            "vfio-ap-sim: cannot save the host's state to R/st/h.state: create R/st/h.state.tmp: Read-only file system\(Self.goesOn)",
            "written read-write",
            "written without a directory",
            "chmod without a directory",
            "written with the directory back",
            "vfio-ap-sim: cannot save the host's state to R/st/h.state: create R/st/h.state.tmp: Read-only file system\(Self.goesOn)",
            "vfio-ap-sim: the host's state is saved to R/st/h.state again",
            "vfio-ap-sim: cannot save the host's state to R/st/h.state: create R/st/h.state.tmp: No such file or directory\(Self.goesOn)",
            "vfio-ap-sim: the host's state is saved to R/st/h.state again",
            "host status 0",
            "0xf9ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            "0xf7fffffffffffffffeffffffffffffffffffffffffffffffffffffffffffffff",
            "600",
            "host status 0",
        ], r.stdout + r.stderr)
    }

    /// A host whose state cannot be saved at all does not start (and says why).
    func testAStateFileThatCannotBeCreatedStopsTheStart() throws {
        let r = try inNamespace("""
            mkdir $R/ro && mount -t tmpfs -o ro vfio-ap-sim-test $R/ro || exit 99
            "$SIM" mount --name h --runtime-dir $R/run --state $R/ro/h.state $M 2>&1 | sed "s|$R|R|g"
            mkdir $R/small && mount -t tmpfs -o size=4k vfio-ap-sim-test $R/small || exit 99
            head -c 8k /dev/zero > $R/small/filler 2>/dev/null
            "$SIM" mount --name h --runtime-dir $R/run --state $R/small/h.state $M 2>&1 | sed "s|$R|R|g"
            ls $R/small; grep -c " $M " /proc/self/mountinfo
            """)
        XCTAssertEqual(r.lines, [
            "vfio-ap-sim: cannot lock the state file R/ro/h.state: create R/ro/h.state.lock: Read-only file system",
            "vfio-ap-sim: cannot save the host's state to R/small/h.state: write R/small/h.state.tmp: No space left on device",
            "filler", "h.state.lock",
            "0",
        ], r.stdout + r.stderr)
    }

    /// The runtime directory: full at start is a clear error; read-only
    /// under a running host changes nothing (its socket is already there).
    func testAFullOrReadOnlyRuntimeDirectory() throws {
        let r = try inNamespace("""
            mkdir $R/full && mount -t tmpfs -o nr_inodes=1,mode=0700 vfio-ap-sim-test $R/full || exit 99
            "$SIM" mount --name h --runtime-dir $R/full $M 2>&1 | sed "s|$R|R|g"
            "$SIM" mount --name h --runtime-dir $R/full/run $M 2>&1 | sed "s|$R|R|g"
            mkdir $R/st
            start_host $R/st/h.state
            mount --bind $R/run $R/run && mount -o remount,bind,ro $R/run || exit 99
            echo -5 > $M/bus/ap/apmask && echo "written"
            "$SIM" dmesg --host h --runtime-dir $R/run | grep -c 'MDEV: Registered'
            touch $R/run/x 2>&1 | sed "s|$R|R|g"
            errors
            stop_host
            """)
        XCTAssertEqual(r.lines, [
            "vfio-ap-sim: cannot listen on R/full/h.sock: No space left on device",
            "vfio-ap-sim: cannot create the runtime directory R/full/run: No space left on device",
            "written",
            "1",
            "touch: cannot touch 'R/run/x': Read-only file system",
            "host status 0",
        ], r.stdout + r.stderr)
    }
}
