#!/bin/sh
# Quick start: installs what is missing, builds vfio-ap-sim and runs a short
# part of the vfio-ap.rst procedure on the embedded default host, inside
# `vfio-ap-sim exec` (a private mount namespace: nothing outside changes).
set -eu
cd "$(dirname "$0")/.."
. scripts/packages.sh
require_swift
ensure_packages $BUILD_PACKAGES
swift build --product vfio-ap-sim
bin="$(swift build --show-bin-path)/vfio-ap-sim"

"$bin" exec -- bash -c '
    show() { echo "\$ $*"; bash -c "$*" 2>&1 | sed "s/^bash: line 1: //"; }
    show cat /sys/devices/vfio_ap/matrix/features
    show "echo -5,-6 > /sys/bus/ap/apmask"
    show "echo -4,-0xab > /sys/bus/ap/aqmask"
    cd /sys/devices/vfio_ap/matrix
    show "echo 62177883-f1bb-47f0-914d-32a22e3a8804 > mdev_supported_types/vfio_ap-passthrough/create"
    cd 62177883-f1bb-47f0-914d-32a22e3a8804
    show "echo 5 > assign_adapter; echo 6 > assign_adapter"
    show "echo 4 > assign_domain; echo 0xab > assign_domain"
    show cat matrix
    show "echo +4 > /sys/bus/ap/aqmask"
    show "vfio-ap-sim dmesg | tail -2"
    show "echo 1 > remove"
'
