#!/usr/bin/env bash
# Builds a container image with vfio-ap-sim (docs/CONTAINERS.md).
#
#   scripts/container-image.sh [--tag TAG] [--base IMAGE | --local-base] [--skip-swift-build]
#       The image of Containerfile: `swift build -c release --static-swift-stdlib
#       --product vfio-ap-sim`, then `podman build` FROM BASE
#       (docker.io/library/debian:bookworm-slim). --local-base builds FROM a
#       bookworm made here by `debootstrap --variant=minbase` (for machines
#       without a registry; imported once as localhost/debian-minbase:bookworm;
#       the RUN apt-get step still needs a Debian mirror).
#
#   scripts/container-image.sh --assemble BINARY [--tag TAG] [--if-missing]
#       No Swift build, no registry, no network: the image is assembled from
#       this machine's files and imported (`podman import`): static busybox
#       (sh, and the unshare applet that exec uses), BINARY, every library
#       ldd lists for them at its own path, fusermount3. Same entry point as the
#       Containerfile image. ContainerTests build their image this way from the
#       debug binary. --if-missing: nothing to do when TAG exists.
#       --rootfs DIR: write the assembled tree to DIR (new or empty) instead,
#       for bwrap --ro-bind DIR / or systemd-nspawn -D DIR; no image.
#
# TAG defaults to localhost/vfio-ap-sim:latest. podman reads CONTAINERS_CONF
# as usual (hosts where only runc works need one: docs/CONTAINERS.md).
# Prints the tag on the last line.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
tag=localhost/vfio-ap-sim:latest
base=docker.io/library/debian:bookworm-slim
local_base=no
assemble=
if_missing=no
rootfs_out=
swift_build=yes

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --tag) tag=${2:?}; shift 2 ;;
        --base) base=${2:?}; shift 2 ;;
        --local-base) local_base=yes; shift ;;
        --assemble) assemble=${2:?}; shift 2 ;;
        --if-missing) if_missing=yes; shift ;;
        --rootfs) rootfs_out=${2:?}; shift 2 ;;
        --skip-swift-build) swift_build=no; shift ;;
        -h|--help) usage ;;
        *) echo "container-image.sh: unknown argument $1" >&2; usage ;;
    esac
done
podman=${PODMAN:-podman}

if [ "$if_missing" = yes ] && [ -z "$rootfs_out" ] && "$podman" image exists "$tag"; then
    echo "$tag"
    exit 0
fi

# Copies FILE to ROOT at the same path (symlinks followed), and every library
# ldd lists for it, also at its own path (the loader finds them there as on
# the host: the Swift runtime through the binary's RUNPATH).
copy_with_libraries() {
    local root=$1 file=$2 dest=${3:-$2} lib
    mkdir -p "$root$(dirname "$dest")"
    cp -L "$file" "$root$dest"
    # "libx.so => /path (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
    for lib in $(ldd "$file" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
        if [ ! -e "$root$lib" ]; then
            mkdir -p "$root$(dirname "$lib")"
            cp -L "$lib" "$root$lib"
        fi
    done
}

if [ -n "$assemble" ]; then
    binary=$(readlink -f "$assemble")
    busybox=$(command -v busybox || true)
    fusermount=$(command -v fusermount3 || true)
    [ -x "$binary" ] || { echo "container-image.sh: $assemble is not an executable" >&2; exit 1; }
    [ -n "$busybox" ] || { echo "container-image.sh: busybox is needed (apt-get install busybox-static)" >&2; exit 1; }
    [ -n "$fusermount" ] || { echo "container-image.sh: fusermount3 is needed (apt-get install fuse3)" >&2; exit 1; }
    if [ -n "$rootfs_out" ]; then
        mkdir -p "$rootfs_out"
        [ -z "$(ls -A "$rootfs_out")" ] || { echo "container-image.sh: $rootfs_out is not empty" >&2; exit 1; }
        root=$(cd "$rootfs_out" && pwd)
    else
        root=$(mktemp -d /tmp/vfio-ap-sim-image.XXXXXX)
        trap 'rm -rf "$root"' EXIT
    fi
    mkdir -p "$root"/{bin,usr/bin,usr/local/bin,sys,proc,dev,tmp,run,etc}
    chmod 1777 "$root/tmp"
    copy_with_libraries "$root" "$busybox" /bin/busybox
    for applet in $("$root/bin/busybox" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
    done
    copy_with_libraries "$root" "$fusermount" /usr/bin/fusermount3
    copy_with_libraries "$root" "$binary" /usr/local/bin/vfio-ap-sim
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
    printf 'root:x:0:\n' > "$root/etc/group"
    # systemd-nspawn wants an os-release to accept the tree as an OS.
    printf 'ID=vfio-ap-sim\nNAME="vfio-ap-sim (assembled)"\n' > "$root/etc/os-release"
    mkdir -p "$root/usr/lib" && cp "$root/etc/os-release" "$root/usr/lib/os-release"
    if [ -n "$rootfs_out" ]; then
        echo "$root"
        exit 0
    fi
    tar -C "$root" -c . | "$podman" import -q \
        --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
        --change 'ENTRYPOINT ["/usr/local/bin/vfio-ap-sim"]' \
        --change 'CMD ["--help"]' \
        - "$tag" >/dev/null
    echo "$tag"
    exit 0
fi

if [ "$local_base" = yes ]; then
    base=localhost/debian-minbase:bookworm
    if ! "$podman" image exists "$base"; then
        command -v debootstrap >/dev/null || { echo "container-image.sh: --local-base needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
        rootfs=$(mktemp -d /tmp/vfio-ap-sim-bookworm.XXXXXX)
        trap 'rm -rf "$rootfs"' EXIT
        debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >&2
        # As the registry's slim images: no downloaded packages, no package lists.
        rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
        tar -C "$rootfs" -c . | "$podman" import -q - "$base" >/dev/null
    fi
fi

cd "$repo"
if [ "$swift_build" = yes ]; then
    swift build -c release --static-swift-stdlib --product vfio-ap-sim >&2
fi
"$podman" build -q --build-arg BASE="$base" -t "$tag" -f Containerfile . >/dev/null
echo "$tag"
