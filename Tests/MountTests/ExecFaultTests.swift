import Foundation
import Glibc
import TestSupport
import XCTest

/// exec's private host against faults: clients inside that hang up early,
/// file descriptors that would leak into the command, start-up failures
/// and SIGKILL leaving scratch directories (issue 10, points 1, 3, 11).
final class ExecFaultTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    /// Python clients inside exec send `dmesg` and close before the reply;
    /// the host (which serves without libfuse's signal handlers) must not
    /// die of SIGPIPE, and /sys and the control socket keep answering.
    func testClientsThatHangUpEarlyDoNotKillExecsHost() throws {
        let r = try Simulator.bash("""
            python3 -c '
            import os, socket, struct
            path = os.environ["VFIO_AP_SIM_RUNTIME_DIR"] + "/" + os.environ["VFIO_AP_SIM_HOST"] + ".sock"
            failed = 0
            for i in range(200):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                # Blocking, but a connect() into a backlog nobody serves gives up after 2 s.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 2, 0))
                try:
                    s.connect(path)
                    s.sendall(b"dmesg\\n")
                except OSError as e:
                    failed += 1
                    print(type(e).__name__, e)
                s.close()
                if failed > 2: break
            print("failed", failed)
            '
            sleep 0.3
            cat /sys/bus/ap/ap_domain
            vfio-ap-sim dmesg | grep -c "MDEV: Registered"
            """)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "failed 0\n4\n1\n")
    }

    /// The command inherits exactly the descriptors exec was given (here
    /// 0, 1 and 2: python's subprocess closes the others, among them the
    /// socket Foundation's Process leaks into its children): none of the
    /// host's (control listener, connections, /dev/fuse, the kmsg mount,
    /// the netlink sink, the scratch directory's lock).
    func testNoDescriptorOfTheHostLeaksIntoTheCommand() throws {
        for layout in ["overlay", "emulated"] {
            let r = try ProcessRunner.run(["/usr/bin/env", "python3", "-c",
                                           "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)",
                                           Simulator.binary, "exec", "--sys", layout, "--", "sh", "-c",
                                           "vfio-ap-sim dmesg > /dev/null; ls -l /proc/self/fd | tail -n +2; echo; ls /proc/self/fd"],
                                          timeout: 30)
            XCTAssertEqual(r.status, 0, r.stderr)
            let parts = r.stdout.components(separatedBy: "\n\n")
            XCTAssertEqual(parts.count, 2, r.stdout)
            // ls's own descriptor for /proc/self/fd is 3.
            XCTAssertEqual(parts.last!.split(separator: "\n").map(String.init).sorted(), ["0", "1", "2", "3"],
                           "--sys \(layout): \(parts.first ?? "")")
        }
    }

    /// `--sys emulated` mounted the tree straight at /sys: a thread of the
    /// host reading /sys/devices/system/cpu/online (glibc, libdispatch)
    /// before the session answered FUSE INIT could wait forever, and with it
    /// the command (found by the test above, about one run in four).
    func testTheEmulatedLayoutStartsEveryTime() throws {
        for round in 0..<12 {
            let r = try Simulator.exec(["sh", "-c", "cat /sys/bus/ap/ap_domain; vfio-ap-sim dmesg | grep -c 'MDEV: Registered'"],
                                       sysLayout: "emulated")
            XCTAssertEqual(r.status, 0, "round \(round): \(r.stderr)")
            XCTAssertEqual(r.stdout, "4\n1\n", "round \(round)")
            if r.timedOut { break }
        }
    }

    /// Runs SCRIPT (sh) in a mount namespace of its own with a private tmpfs
    /// at /tmp, so that exec's scratch directories there are this test's alone.
    private func withPrivateTmp(_ script: String, timeout: TimeInterval = 60) throws -> ProcessResult {
        try ProcessRunner.run(["/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                               PrivateTmp.mountLines() + "\n" + script],
                              environment: ["SIM": Simulator.binary], timeout: timeout)
    }

    /// A start-up failure of exec's inner side (here: its topology is gone)
    /// leaves nothing in /tmp: no scratch directory, no user's directory.
    func testStartupFailureRemovesTheScratchDirectory() throws {
        let r = try withPrivateTmp("""
            unshare --mount --propagation private -- "$SIM" __exec-inner --outer-namespace 'mnt:[0]' --topology /nonexistent.yaml -- true
            echo "status $?"
            ls -A /tmp
            """)
        XCTAssertEqual(r.stdout, "status 1\n", r.stderr)
        XCTAssertTrue(r.stderr.contains("/nonexistent.yaml"), r.stderr)
    }

    /// Inside exec's namespace a tmpfs covers the scratch directory (the
    /// tree's mount point, the overlay's layer of mount points, kmsg and
    /// the control socket live there); outside it holds only exec's lock,
    /// and nothing is left once exec ends.
    func testTheScratchDirectoryHoldsOnlyItsLockOutside() throws {
        let r = try withPrivateTmp("""
            timeout 40 "$SIM" exec -- sh -c 'echo "$VFIO_AP_SIM_RUNTIME_DIR" > /tmp/scratch.path; ls -A "$VFIO_AP_SIM_RUNTIME_DIR" | grep -v "\\.sock$" > /tmp/inside.new; mv /tmp/inside.new /tmp/inside; for i in $(seq 300); do [ -e /tmp/stop ] && exit 0; sleep 0.1; done; exit 1' &
            EXEC=$!
            for i in $(seq 100); do [ -s /tmp/inside ] && break; sleep 0.1; done
            echo "outside: $(ls -A "$(cat /tmp/scratch.path)" | tr '\\n' ' ')"
            echo "inside: $(tr '\\n' ' ' < /tmp/inside)"
            touch /tmp/stop; wait $EXEC
            echo "status $?"
            echo "end $(ls -A /tmp | grep -c vfio-ap-sim)"
            """)
        XCTAssertEqual(r.stdout, "outside: .lock \ninside: emulated kmsg marks \nstatus 0\nend 0\n", r.stderr)
    }

    /// SIGKILL of exec leaves its scratch directory (in the user's
    /// directory, /tmp/vfio-ap-sim-exec-UID); the next exec removes it, and
    /// leaves the directory of an exec still running alone; the last exec
    /// to end removes the user's directory.
    func testScratchDirectoriesOfKilledExecsAreRemoved() throws {
        let r = try withPrivateTmp("""
            timeout 40 "$SIM" exec -- sh -c 'echo $$ > /tmp/live.pid; for i in $(seq 300); do [ -e /tmp/live.stop ] && exit 0; sleep 0.1; done; exit 1' &
            LIVE=$!
            timeout 40 "$SIM" exec -- sh -c 'echo $PPID > /tmp/killed.exec; echo $$ > /tmp/killed.pid; exec sleep 30' &
            KILLED=$!
            for i in $(seq 100); do [ -s /tmp/live.pid ] && [ -s /tmp/killed.pid ] && break; sleep 0.1; done
            kill -9 $(cat /tmp/killed.exec)
            kill $(cat /tmp/killed.pid); wait $KILLED
            sleep 0.5
            USERDIR=/tmp/vfio-ap-sim-exec-$(id -u)
            echo "user directory $(stat -c '%a %U' $USERDIR)"
            echo "before $(ls -A $USERDIR | wc -l)"
            timeout 20 "$SIM" exec -- true
            echo "after $(ls -A $USERDIR | wc -l)"
            touch /tmp/live.stop; wait $LIVE
            echo "live exec status $?"
            echo "end $(ls -A /tmp | grep -c vfio-ap-sim)"
            """)
        XCTAssertEqual(r.stdout, "user directory 700 root\nbefore 2\nafter 1\nlive exec status 0\nend 0\n", r.stderr)
    }

    /// A user's directory that is not the user's own (another user made it
    /// first, or it is open to others) is not used: exec makes its scratch
    /// directory in /tmp itself, runs, and leaves the other one as it was.
    func testAUserDirectoryNotOwnIsLeftAlone() throws {
        let r = try withPrivateTmp("""
            USERDIR=/tmp/vfio-ap-sim-exec-$(id -u)
            mkdir -m 0755 $USERDIR
            chown nobody $USERDIR
            timeout 40 "$SIM" exec -- sh -c 'echo "runtime ${VFIO_AP_SIM_RUNTIME_DIR%.*}"; cat /sys/bus/ap/ap_domain'
            echo "status $?"
            echo "user directory $(stat -c '%a %U' $USERDIR) $(ls -A $USERDIR | wc -l)"
            echo "end $(ls -A /tmp | grep -c vfio-ap-sim)"
            """)
        XCTAssertEqual(r.stdout, "runtime /tmp/vfio-ap-sim-exec\n4\nstatus 0\nuser directory 755 nobody 0\nend 1\n", r.stderr)
    }

    /// An exec that had to make its scratch directory in /tmp itself also
    /// removes there what killed execs of its kind left (their lock free),
    /// and leaves alone one still locked, one of another user and a link
    /// of that name (and what it points to).
    func testStaleDirectoriesInTmpItselfAreRemovedByExecsThere() throws {
        let r = try withPrivateTmp("""
            USERDIR=/tmp/vfio-ap-sim-exec-$(id -u)
            mkdir -m 0755 $USERDIR; chown nobody $USERDIR
            mkdir -m 0700 /tmp/vfio-ap-sim-exec.stale1 /tmp/vfio-ap-sim-exec.live01 /tmp/vfio-ap-sim-exec.other1 /tmp/target
            touch /tmp/vfio-ap-sim-exec.stale1/.lock /tmp/vfio-ap-sim-exec.stale1/control.sock
            touch /tmp/vfio-ap-sim-exec.live01/.lock /tmp/vfio-ap-sim-exec.other1/.lock /tmp/target/.lock
            chown -R nobody /tmp/vfio-ap-sim-exec.other1
            ln -s /tmp/target /tmp/vfio-ap-sim-exec.link01
            flock /tmp/vfio-ap-sim-exec.live01/.lock sh -c 'touch /tmp/locked; for i in $(seq 900); do [ -e /tmp/unlock ] && exit 0; sleep 0.1; done' &
            HOLDER=$!
            for i in $(seq 100); do [ -e /tmp/locked ] && break; sleep 0.1; done
            [ -e /tmp/locked ] || echo "the lock was never taken"
            timeout 40 "$SIM" exec -- true
            echo "status $?"
            touch /tmp/unlock; wait $HOLDER
            ls -A /tmp | grep vfio-ap-sim-exec | sed "s/-$(id -u)$/-UID/"
            ls -A /tmp/target
            """, timeout: 120)
        XCTAssertEqual(r.stdout, "status 0\nvfio-ap-sim-exec-UID\nvfio-ap-sim-exec.link01\nvfio-ap-sim-exec.live01\nvfio-ap-sim-exec.other1\n.lock\n", r.stderr)
    }
}
