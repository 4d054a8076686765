#!/usr/bin/env bash
# vfio-ap.rst, "The AP configuration of the source guest has fewer APQNS than
# the destination guest": the source's mdev loses domain 0xab before the guest
# starts, so the source streams 2 APQNs (40 bytes) to a destination whose mdev
# has 4. Once the count in the stream's header has arrived, the destination's
# vfio_ap write() compares it with its own (vfio_ap_validate_num_queues) and
# fails with ENODEV because the target has more.
#
#   Source host, console log:
#     error: operation failed: job 'migration in' failed: load of migration failed: No such device
#   Source host, QEMU log:       initiating migration
#                                qemu-system-s390x: Sibling indicated error 1
#   Destination host, kernel log:
#     vfio_ap_mdev $UUID: migration failed: number of queues on source (x) and target (y) guests differ
#   Destination host, QEMU log:  initiating migration
#                                qemu-system-s390x: error while loading state section id ...
#                                shutting down, reason=failed
#                                terminating on signal 15 from pid 1196 (/usr/sbin/virtqemud)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "Two hosts; the source's mdev gives up domain 0xab (2 APQNs), the destination keeps 4"
start_host src "$TOPOLOGIES/migration-source.yaml"
start_host dst "$TOPOLOGIES/migration-target.yaml"
SRC="$WORK/src" DST="$WORK/dst"
run 'echo 0xab > $SRC/devices/vfio_ap/matrix/$UUID/unassign_domain'
run cat '$SRC/devices/vfio_ap/matrix/$UUID/matrix'
run vfio-ap-sim guest start --host src g1 '$UUID'
run vfio-ap-sim migration data-size --host src '$UUID'

say "Migrate"
note "vfio-ap.rst, source host console log:"
note "error: operation failed: job 'migration in' failed: load of migration failed: No such device"
note "destination kernel log: migration failed: number of queues on source (x) and target (y) guests differ"
migrate_capture src dst g1
check_failed_migration src dst g1 "error: operation failed: job 'migration in' failed: load of migration failed: No such device"
check_qemu_logs src dst g1
kernel=$(section "destination host 'dst' kernel log")
check_line "destination kernel log" "vfio_ap_mdev $UUID: migration failed: number of queues on source (2) and target (4) guests differ" "$kernel"
check_eq "source queue 05.0004 still in use" "in use" "$(cat "$SRC/devices/ap/card05/05.0004/status")"

finish
