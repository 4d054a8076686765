# Sourced by demo.sh, test.sh and .ci/run: the Debian packages each needs,
# and one way to install only what is missing (apt-get update at most once).

# The build (CFuse needs libfuse3's headers), mounting (fusermount3,
# /etc/fuse.conf) and exec (util-linux unshare).
BUILD_PACKAGES="libfuse3-dev fuse3 util-linux"

# The real clients and runtimes the tests drive: python3 and bash (errno
# checks), uuid-runtime (uuidgen, as vfio-ap.rst uses it), mdevctl,
# util-linux (setpriv for non-root writers), podman + runc, bubblewrap,
# systemd-container (systemd-nspawn), busybox-static (the test images) and
# dash (with busybox sh, the shells record-topology.sh is run with), and the
# event plane's clients: udev (udevadm), python3-pyudev, libvirt-daemon and
# libvirt-clients (libvirtd's node device driver, virsh).
TEST_PACKAGES="python3 bash uuid-runtime mdevctl podman runc bubblewrap busybox-static dash systemd-container udev python3-pyudev libvirt-daemon libvirt-clients"

# ensure_packages PKG...: installs those not installed yet.
ensure_packages() {
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages:$missing (run as root to install them)" >&2
        return 1
    fi
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q $missing
}

# require_swift: Swift is the one thing these scripts do not install.
require_swift() {
    command -v swift >/dev/null 2>&1 && return 0
    echo "swift is not on PATH: install a Swift 6 toolchain (swift.org) first" >&2
    return 1
}
