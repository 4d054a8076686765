#!/usr/bin/env bash
# vfio-ap.rst, "The AP configuration of the source guest has more APQNS than
# the destination guest": the destination's mdev loses domain 0xab, so the
# source streams 4 APQNs (8 + 4*16 = 72 bytes) into a resume file sized for
# the destination's 2 (8 + 2*16 = 40 bytes). The destination's vfio_ap write()
# refuses the oversized write with EIO (validate_resume_write_parms).
#
#   Source host, console log:
#     error: operation failed: job 'migration in' failed: load of migration failed: Input/output error
#     (the table prints "operation f1e166ee77e6failed", a typo in the patch)
#   Source host, QEMU log:       initiating migration
#                                qemu-system-s390x: Sibling indicated error 1
#   Destination host, kernel log:
#     vfio_ap_mdev $UUID: migration failed: source guest's AP config size (xx) larger than target's (yy)
#   Destination host, QEMU log:  initiating migration
#                                qemu-system-s390x: error while loading state section id ...
#                                shutting down, reason=failed
#                                terminating on signal 15 from pid 1196 (/usr/sbin/virtqemud)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

migrate_with_fewer_apqns_on DST \
    "Two hosts; the destination's mdev gives up domain 0xab (2 APQNs left)" \
    "Input/output error" \
    "migration failed: source guest's AP config size (xx) larger than target's (yy)" \
    "migration failed: source guest's AP config size (72) larger than target's (40)" \
    06.00ab

finish
