#!/usr/bin/env bash
# vfio-ap.rst, "The AP configuration of the source and destination guests are
# not compatible": queue 05.0004 on the destination lacks the AP special
# command facility (APSC), made so by writing the emulator's per-queue hwinfo
# file (the TAPQ GR2 word; APSC is its bit 0). The destination's vfio_ap
# resume write() finds the hardware incompatible and fails with EFAULT.
#
#   Source host, console log:
#     error: operation failed: job 'migration in' failed: load of migration failed: Bad address
#   Source host, QEMU log:       initiating migration
#                                qemu-system-s390x: Sibling indicated error 1
#   Destination host, kernel log:
#     vfio_ap_mdev $UUID: Migration failed: Source and target queues ($APQN) are not compatible
#     followed by the incompatible features, e.g.
#     vfio_ap_mdev $UUID: APSC facility installed in source queue $APQN
#     vfio_ap_mdev $UUID: APSC facility not installed in target queue $APQN
#   Destination host, QEMU log:  initiating migration
#                                qemu-system-s390x: error while loading state section id ...
#                                shutting down, reason=failed
#                                terminating on signal 15 from pid 1196 (/usr/sbin/virtqemud)
#
# The first kernel line is printed with the wording of the driver's format
# string (report_qinfo_incompatibilities: "Source and target queue (%02lx.%04lx)
# not compatible"); the table paraphrases it (docs/FIDELITY.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_migration_hosts "Two hosts; the destination's queue 05.0004 loses the APSC facility"
run cat '$DST/devices/ap/card05/05.0004/hwinfo' '$DST/devices/ap/card05/05.0004/ap_functions'
note "bit 0 (0x8000000000000000) is APSC: clear it"
run 'echo 0x728000000bff0007 > $DST/devices/ap/card05/05.0004/hwinfo'
run cat '$DST/devices/ap/card05/05.0004/hwinfo' '$DST/devices/ap/card05/05.0004/ap_functions'
run vfio-ap-sim guest start --host src g1 '$UUID'
show_host src

say "Migrate"
note "vfio-ap.rst, source host console log:"
note "error: operation failed: job 'migration in' failed: load of migration failed: Bad address"
note "destination kernel log: Migration failed: Source and target queues (\$APQN) are not compatible,"
note "then the features: APSC facility installed in source queue \$APQN / APSC facility not installed in target queue \$APQN"
migrate_capture src dst g1
check_failed_migration src dst g1 "error: operation failed: job 'migration in' failed: load of migration failed: Bad address"
check_qemu_logs src dst g1
kernel=$(section "destination host 'dst' kernel log")
check_line "destination kernel log" "vfio_ap_mdev $UUID: Migration failed: Source and target queue (05.0004) not compatible" "$kernel"
check_line "destination kernel log" "vfio_ap_mdev $UUID: APSC facility installed in source queue 05.0004" "$kernel"
check_line "destination kernel log" "vfio_ap_mdev $UUID: APSC facility not installed in target queue 05.0004" "$kernel"
check_no_line "no AP-type line (the types are equal)" "AP type of source" "$kernel"
dmesg=$(vfio-ap-sim dmesg --host dst | sed -E 's/^\[ *[0-9]+\.[0-9]{6}\] //')
check_line "dmesg on the destination" "vfio_ap_mdev $UUID: APSC facility not installed in target queue 05.0004" "$dmesg"
check_eq "source queue 05.0004 still in use" "in use" "$(cat "$SRC/devices/ap/card05/05.0004/status")"
check_eq "picture: src 05.0004 still g1's" "A*" "$(show_cell src 05.0004)"
check_eq "source device back to RUNNING" RUNNING "$(vfio-ap-sim migration get-state --host src "$UUID")"

say "Another incompatibility: destination 06.00ab in XCP (EP11) mode instead of accelerator mode"
run 'echo 0xf28000000bff0007 > $DST/devices/ap/card05/05.0004/hwinfo'
run 'echo 0xe68000000cff0007 > $DST/devices/ap/card06/06.00ab/hwinfo'
migrate_capture src dst g1
check_failed_migration src dst g1 "error: operation failed: job 'migration in' failed: load of migration failed: Bad address"
kernel=$(section "destination host 'dst' kernel log")
check_line "destination kernel log" "vfio_ap_mdev $UUID: Migration failed: Source and target queue (06.00ab) not compatible" "$kernel"
check_line "destination kernel log" "vfio_ap_mdev $UUID: Accelerator-mode facility installed source queue 06.00ab" "$kernel"
check_line "destination kernel log" "vfio_ap_mdev $UUID: Accelerator-mode facility not installed target queue 06.00ab" "$kernel"
check_line "destination kernel log" "vfio_ap_mdev $UUID: XCP-mode facility not installed source queue 06.00ab" "$kernel"
check_line "destination kernel log" "vfio_ap_mdev $UUID: XCP-mode facility installed target queue 06.00ab" "$kernel"

finish
