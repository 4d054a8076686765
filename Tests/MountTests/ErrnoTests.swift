import TestSupport
import XCTest

/// Every errno of kernel-sysfs.md §9 as a program meets it: python's
/// `os.write` for the exact errno (`w(path, data)` prints `ok N` or the errno
/// name), and after each refused write the state it must not have changed.
final class ErrnoTests: XCTestCase {
    override func setUpWithError() throws { try Simulator.requireFuse() }

    /// Python: the doc's masks, then three mdevs; m1 = Guest1 (5,6 × 4,0xab).
    static let setup = """
        T = "\(Expected.typeDir)/"
        M = "/sys/devices/vfio_ap/matrix/"
        u1, u2, u3 = "\(Expected.uuid1)", "\(Expected.uuid2)", "\(Expected.uuid3)"
        w("/sys/bus/ap/apmask", "-5,-6\\n")
        w("/sys/bus/ap/aqmask", "-4,-0x47,-0xab,-0xff\\n")
        for u in (u1, u2, u3): w(T + "create", u + "\\n")
        for a, v in (("assign_adapter", "5"), ("assign_adapter", "6"), ("assign_domain", "4"), ("assign_domain", "0xab")):
            w(M + u1 + "/" + a, v + "\\n")
        print("--")

        """

    static let setupOutput = "ok 6\nok 21\nok 37\nok 37\nok 37\nok 2\nok 2\nok 2\nok 5\n--\n"

    func python(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try Simulator.python(Self.setup + script, file: file, line: line)
        XCTAssertEqual(r.stderr, "", file: file, line: line)
        XCTAssertEqual(r.status, 0, file: file, line: line)
        XCTAssertTrue(r.stdout.hasPrefix(Self.setupOutput), "setup: \(r.stdout)", file: file, line: line)
        return String(r.stdout.dropFirst(Self.setupOutput.count))
    }

    func testAssignAndUnassign() throws {
        let out = try python("""
            a = M + u2 + "/"
            w(a + "assign_adapter", "x\\n")                      # EINVAL
            w(a + "assign_adapter", " 5")                        # EINVAL: kstrtoul takes no blank
            w(a + "assign_domain", "5\\n\\n")                      # EINVAL: one newline only
            w(a + "assign_domain", "08")                          # EINVAL: bad octal
            w(a + "assign_adapter", "18446744073709551616\\n")   # ERANGE
            w(a + "unassign_domain", "99999999999999999999")     # ERANGE
            w(a + "assign_adapter", "256\\n")                     # ENODEV: > apm_max 255
            w(a + "assign_domain", "0x100")                       # ENODEV
            w(a + "assign_control_domain", "256")                 # ENODEV
            w(a + "unassign_control_domain", "0400")              # ENODEV (octal 256)
            r(a + "matrix"); print("--")
            w(a + "assign_adapter", "1\\n")                        # not host-owned with no domains: ok
            w(a + "assign_domain", "1\\n")                         # 01.0001 owned by the host drivers
            r(a + "matrix"); print("--")
            w(a + "unassign_adapter", "1\\n")
            w(a + "assign_adapter", "5\\n")
            w(a + "assign_domain", "4\\n")                         # 05.0004 belongs to u1
            r(a + "matrix"); r(M + u1 + "/matrix"); print("--")
            w(M + u1 + "/assign_adapter", "5\\n")                  # already assigned: no-op
            w(M + u1 + "/assign_domain", "+0xab")                 # idem, with kstrtoul's '+'
            w(M + u1 + "/unassign_domain", "0x47\\n")              # not assigned: no-op
            w(M + u1 + "/unassign_control_domain", "7")           # not assigned: no-op
            r(M + u1 + "/matrix")
            """)
        XCTAssertEqual(out, """
            EINVAL
            EINVAL
            EINVAL
            EINVAL
            ERANGE
            ERANGE
            ENODEV
            ENODEV
            ENODEV
            ENODEV
            --
            ok 2
            EADDRNOTAVAIL
            01.
            --
            ok 2
            ok 2
            EADDRINUSE
            05.
            \(Expected.guest1Matrix)--
            ok 2
            ok 5
            ok 5
            ok 1
            \(Expected.guest1Matrix)
            """)
    }

    func testAPConfig() throws {
        // ap_config of u2 starts empty; every refused write must leave it so,
        // and a refused write on u1 must leave u1's whole state.
        let out = try python("""
            a = M + u2 + "/ap_config"
            def same(p, before):
                with open(p) as f: print("same" if f.read() == before else "CHANGED")
            before = open(a).read()
            w(a, "0x06,0x08")                                   # EINVAL: two masks
            same(a, before)
            w(a, "0xzz,,\\n")                                    # EINVAL: not hex
            same(a, before)
            w(a, "0x" + "0" * 65 + ",,\\n")                      # EINVAL: 65 digits
            same(a, before)
            w(a, "0X06,0x08,\\n")                                # EINVAL: 0X is no prefix
            same(a, before)
            w(a, "0x40,0x40,\\n")                                # EADDRNOTAVAIL: 01.0001 is the host's
            same(a, before)
            w(a, "0x04,0x08,\\n")                                # EADDRINUSE: 05.0004 is u1's
            same(a, before)
            w(a, "0x00000000000000000020,,\\n")                  # adapter 74 alone: fine (max 255)
            w(a, ",,\\n")                                        # empty tokens clear everything
            same(a, before)
            # strsep(",\\n"): the newline ends a third, empty token, so two
            # masks and a newline are three masks (here: sharing 05.0004).
            w(a, "0x06,0x08\\n")                               # EADDRINUSE
            same(a, before)
            w(a, "0x04,0x0000000000000000010000000000000000000000000000000000000000000001,0xff\\n")
            r(a)
            # u1: a change that would take 05.0047 from u2 is refused whole.
            b1 = open(M + u1 + "/ap_config").read()
            w(M + u1 + "/ap_config", "0x06,0x0800000000000000010000000000000000000000001,\\n")
            same(M + u1 + "/ap_config", b1)
            r(M + u1 + "/matrix")
            """)
        XCTAssertEqual(out, """
            EINVAL
            same
            EINVAL
            same
            EINVAL
            same
            EINVAL
            same
            EADDRNOTAVAIL
            same
            EADDRINUSE
            same
            ok 25
            ok 3
            same
            EADDRINUSE
            same
            ok 77
            0x0400000000000000000000000000000000000000000000000000000000000000,0x0000000000000000010000000000000000000000000000000000000000000001,0xff00000000000000000000000000000000000000000000000000000000000000
            EADDRINUSE
            same
            \(Expected.guest1Matrix)
            """)
    }

    /// ap_config's ENODEV (a bit above the maxima) needs a host with smaller
    /// maxima: ap_max_adapter_id 63, ap_max_domain_id 84.
    func testAPConfigAboveMaximum() throws {
        let dir = NSTemporaryDirectory() + "mounttests-small-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let topology = dir + "/small.yaml"
        let text = try ProcessRunner.run([Simulator.binary, "topology"]).stdout
            .replacingOccurrences(of: "ap_max_adapter_id: 255", with: "ap_max_adapter_id: 63")
            .replacingOccurrences(of: "ap_max_domain_id: 255", with: "ap_max_domain_id: 84")
            .replacingOccurrences(of: "usage_domains: [0x04, 0x47, 0xab, 0xff]", with: "usage_domains: [0x04, 0x47]")
            .replacingOccurrences(of: "control_domains: [0x04, 0x47, 0xab, 0xff]", with: "control_domains: [0x04, 0x47]")
        try text.write(toFile: topology, atomically: true, encoding: .utf8)
        let r = try Simulator.exec(["/usr/bin/python3", "-c", PythonPrelude.text + """
            T = "\(Expected.typeDir)/"
            u = "\(Expected.uuid1)"
            a = "/sys/devices/vfio_ap/matrix/" + u + "/"
            w(T + "create", u)
            r("/sys/bus/ap/ap_max_adapter_id"); r("/sys/bus/ap/ap_max_domain_id")
            w(a + "ap_config", "0x0000000000000000,,\\n")       # adapter 64 alone: ENODEV
            w(a + "ap_config", ",0x000000000000000000000040,\\n")  # domain 89: ENODEV
            w(a + "ap_config", ",,0x000000000000000000000040\\n")  # control domain 89: ENODEV
            w(a + "ap_config", "0x00000000000000008,,\\n")       # adapter 64 (digit 16, MSB)
            r(a + "ap_config")
            w(a + "assign_adapter", "64")
            w(a + "assign_adapter", "63")
            w(a + "assign_domain", "85")
            w(a + "assign_control_domain", "84")
            r(a + "matrix"); r(a + "control_domains")
            """], topology: topology)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            ok 36
            63
            84
            ok 21
            ENODEV
            ENODEV
            ENODEV
            \(Expected.emptyMask),\(Expected.emptyMask),\(Expected.emptyMask)
            ENODEV
            ok 2
            ENODEV
            ok 2
            3f.
            0054

            """)
    }

    func testCreateAndRemove() throws {
        let out = try python("""
            w(T + "create", "abc\\n")                                    # EINVAL: length
            w(T + "create", u1 + "\\n\\n")                                # EINVAL: 38 bytes
            w(T + "create", "62177883+f1bb-47f0-914d-32a22e3a8804")     # EINVAL: dash
            w(T + "create", "6217788g-f1bb-47f0-914d-32a22e3a8804")     # EINVAL: hex
            w(T + "create", u1)                                         # EEXIST
            w(T + "create", u1.upper() + "\\n")                          # EEXIST: same value
            r(T + "available_instances")
            print(sorted(os.listdir(T + "devices")))
            w(M + u2 + "/remove", "x\\n")                                 # EINVAL
            w(M + u2 + "/remove", "-1")                                  # EINVAL
            w(M + u2 + "/remove", "99999999999999999999")                # EINVAL (not ERANGE)
            w(M + u2 + "/remove", "0\\n")                                 # no-op
            print(os.path.isdir(M + u2))
            w(M + u2 + "/remove", "0x10")                                # any non-zero removes
            print(os.path.isdir(M + u2))
            r(T + "available_instances")
            """)
        XCTAssertEqual(out, """
            EINVAL
            EINVAL
            EINVAL
            EINVAL
            EEXIST
            EEXIST
            65533
            ['\(Expected.uuid3)', '\(Expected.uuid1)', '\(Expected.uuid2)']
            EINVAL
            EINVAL
            EINVAL
            ok 2
            True
            ok 4
            False
            65534

            """)
    }

    func testBusMasks() throws {
        let out = try python("""
            def masks(): r("/sys/bus/ap/apmask"); r("/sys/bus/ap/aqmask")
            w("/sys/bus/ap/apmask", "0X12\\n")          # EINVAL: 0X
            w("/sys/bus/ap/apmask", "+256\\n")          # EINVAL: >= 256
            w("/sys/bus/ap/apmask", "+5 \\n")           # EINVAL: space
            w("/sys/bus/ap/aqmask", "+7-3")            # EINVAL: start > end
            w("/sys/bus/ap/aqmask", "0x" + "f" * 65)   # EINVAL: 65 digits
            masks()
            w("/sys/bus/ap/apmask", "+5\\n")            # EBUSY: 05.0004 and 05.00ab are u1's
            w("/sys/bus/ap/aqmask", "+0xab\\n")         # EBUSY
            w("/sys/bus/ap/apmask", "0xffff\\n")        # EBUSY (absolute form sets 5 again)
            masks()
            r("/sys/bus/ap/devices/05.0004/status")
            w("/sys/bus/ap/apmask", "-7\\n")            # clearing is never refused
            w("/sys/bus/ap/apmask", "+7\\n")            # adapter 7 is no mdev's: fine
            w("/sys/bus/ap/aqmask", "+0x47\\n")         # nobody has 0x47 yet: fine
            w("/sys/bus/ap/aqmask", "-0x47\\n")
            masks()
            """)
        XCTAssertEqual(out, """
            EINVAL
            EINVAL
            EINVAL
            EINVAL
            EINVAL
            \(Expected.apmaskSecured)\(Expected.aqmaskSecured)EBUSY
            EBUSY
            EBUSY
            \(Expected.apmaskSecured)\(Expected.aqmaskSecured)assigned
            ok 3
            ok 3
            ok 6
            ok 6
            \(Expected.apmaskSecured)\(Expected.aqmaskSecured)
            """)
    }

    /// driver_override needs both masks all ones (EINVAL otherwise), and an
    /// active override makes apmask/aqmask writes EINVAL.
    func testDriverOverride() throws {
        let r = try Simulator.python("""
            q = "/sys/bus/ap/devices/05.0004/"
            w(q + "driver_override", "vfio_ap\\n")
            r(q + "driver_override")
            w("/sys/bus/ap/apmask", "-5\\n")                       # EINVAL: an override is set
            w("/sys/bus/ap/aqmask", "-4\\n")                       # EINVAL
            r("/sys/bus/ap/apmask"); r("/sys/bus/ap/aqmask")
            w(q + "driver_override", "\\n")                         # clears it
            r(q + "driver_override")
            w("/sys/bus/ap/apmask", "-5\\n")
            w(q + "driver_override", "vfio_ap\\n")                 # EINVAL: masks not all ones
            r(q + "driver_override")
            """)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            ok 8
            vfio_ap
            EINVAL
            EINVAL
            \(Expected.allOnesMask)\(Expected.allOnesMask)ok 1

            ok 3
            EINVAL


            """)
    }

    func testBusScalars() throws {
        let out = try python("""
            b = "/sys/bus/ap/"
            d0 = open(b + "ap_domain").read()
            w(b + "ap_domain", "x\\n")             # EINVAL
            w(b + "ap_domain", "-1\\n")            # EINVAL
            w(b + "ap_domain", "256\\n")           # EINVAL: > ap_max_domain_id
            w(b + "ap_domain", "4\\n")             # EINVAL: 4 is no longer in aqmask
            w(b + "ap_domain", "0x47")             # EINVAL
            print(open(b + "ap_domain").read() == d0)
            w(b + "ap_domain", "0x10 trailing")    # sscanf %i: 16, garbage ignored
            r(b + "ap_domain")
            w(b + "config_time", "4\\n")           # EINVAL: < 5
            w(b + "config_time", "121\\n")         # EINVAL: > 120
            w(b + "config_time", "x\\n")           # EINVAL
            r(b + "config_time")
            w(b + "config_time", "60\\n")
            r(b + "config_time")
            w(b + "poll_timeout", "120000000001\\n")        # EINVAL: > 120 s
            w(b + "poll_timeout", "x\\n")                   # EINVAL
            w(b + "poll_timeout", "-1\\n")                  # EINVAL
            w(b + "poll_timeout", "99999999999999999999\\n")  # ERANGE
            r(b + "poll_timeout")
            w(b + "poll_timeout", "120000000000\\n")
            r(b + "poll_timeout")
            w(b + "poll_thread", "maybe\\n")                # EINVAL (kstrtobool)
            """)
        XCTAssertEqual(out, """
            EINVAL
            EINVAL
            EINVAL
            EINVAL
            EINVAL
            True
            ok 13
            16
            EINVAL
            EINVAL
            EINVAL
            30
            ok 3
            60
            EINVAL
            EINVAL
            EINVAL
            ERANGE
            250000
            ok 13
            120000000000
            EINVAL

            """)
    }

    /// Card `config`, zcrypt card and queue `online` (default masks: every
    /// queue is bound to cex4queue, so the zcrypt files exist).
    func testCardConfigAndZcryptOnline() throws {
        let r = try Simulator.python("""
            c = "/sys/devices/ap/card05/"
            q = c + "05.0004/"
            w(c + "config", "2\\n")           # EINVAL
            w(c + "config", "x\\n")           # EINVAL
            w(c + "online", "2\\n")           # EINVAL
            w(q + "online", "-1\\n")          # EINVAL
            r(c + "config"); r(c + "online"); r(q + "online")
            w(c + "online", "0\\n")           # card offline
            w(q + "online", "1\\n")           # EINVAL: card offline
            r(q + "online")
            w(c + "online", "1\\n")
            w(c + "config", "0\\n")           # deconfigure the card
            r(c + "config"); r(c + "online"); r(q + "config"); r(q + "online")
            w(c + "online", "1\\n")           # ENODEV: card deconfigured
            w(q + "online", "1\\n")           # ENODEV: queue deconfigured
            r(c + "online"); r(q + "online")
            w(c + "config", "1\\n")
            r(c + "config"); r(q + "config")
            """)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            EINVAL
            EINVAL
            EINVAL
            EINVAL
            1
            1
            1
            ok 2
            EINVAL
            0
            ok 2
            ok 2
            0
            0
            0
            0
            ENODEV
            ENODEV
            0
            0
            ok 2
            1
            1

            """)
    }

    /// The AP bus drivers' bind and unbind (driver core, bus.c).
    func testBindAndUnbind() throws {
        let r = try Simulator.python("""
            d = "/sys/bus/ap/drivers/"
            w(d + "vfio_ap/bind", "99.0004\\n")       # ENODEV: no such device
            w(d + "vfio_ap/bind", "05.0004\\n")       # EBUSY: bound to cex4queue
            w(d + "cex4queue/bind", "05.0004\\n")     # EBUSY: already bound here
            w(d + "vfio_ap/unbind", "05.0004\\n")     # ENODEV: not bound to vfio_ap
            w(d + "vfio_ap/unbind", "zz\\n")          # ENODEV
            print(os.readlink("/sys/bus/ap/devices/05.0004/driver"))
            w(d + "cex4queue/unbind", "05.0004\\n")
            print(os.path.exists("/sys/bus/ap/devices/05.0004/driver"))
            w(d + "vfio_ap/bind", "05.0004\\n")       # ENODEV: the masks give it to the host
            w(d + "cex4queue/unbind", "05.0004\\n")   # ENODEV: bound to nothing
            w(d + "cex4queue/bind", "05.0004\\n")
            print(os.readlink("/sys/bus/ap/devices/05.0004/driver"))
            w("/sys/bus/mdev/drivers/vfio_ap_mdev/bind", "x\\n")   # ENODEV: mdev_match is 0
            """)
        XCTAssertEqual(r.stderr, "")
        XCTAssertEqual(r.stdout, """
            ENODEV
            EBUSY
            EBUSY
            ENODEV
            ENODEV
            ../../../../bus/ap/drivers/cex4queue
            ok 8
            False
            ENODEV
            ENODEV
            ok 8
            ../../../../bus/ap/drivers/cex4queue
            ENODEV

            """)
    }
}
