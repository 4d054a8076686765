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

say "Two hosts; the destination's mdev gives up domain 0xab (2 APQNs left)"
start_host src "$TOPOLOGIES/migration-source.yaml"
start_host dst "$TOPOLOGIES/migration-target.yaml"
SRC="$WORK/src" DST="$WORK/dst"
run 'echo 0xab > $DST/devices/vfio_ap/matrix/$UUID/unassign_domain'
run cat '$DST/devices/vfio_ap/matrix/$UUID/matrix'
run vfio-ap-sim guest start --host src g1 '$UUID'
run vfio-ap-sim migration data-size --host src '$UUID'

say "Migrate"
note "vfio-ap.rst, source host console log:"
note "error: operation failed: job 'migration in' failed: load of migration failed: Input/output error"
note "destination kernel log: migration failed: source guest's AP config size (xx) larger than target's (yy)"
migrate_capture src dst g1
check_failed_migration src dst g1 "error: operation failed: job 'migration in' failed: load of migration failed: Input/output error"
check_qemu_logs src dst g1
kernel=$(section "destination host 'dst' kernel log")
check_line "destination kernel log" "vfio_ap_mdev $UUID: migration failed: source guest's AP config size (72) larger than target's (40)" "$kernel"
check_eq "source queue 06.00ab still in use" "in use" "$(cat "$SRC/devices/ap/card06/06.00ab/status")"

finish
