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

migrate_with_fewer_apqns_on SRC \
    "Two hosts; the source's mdev gives up domain 0xab (2 APQNs), the destination keeps 4" \
    "No such device" \
    "migration failed: number of queues on source (x) and target (y) guests differ" \
    "migration failed: number of queues on source (2) and target (4) guests differ" \
    05.0004

finish
