#!/usr/bin/env bash
# Live-migrates a guest with an AP configuration from a CEX5 host to a host
# whose accelerator is a newer CEX6: vfio-ap.rst's compatibility rules are
# met (same APQNs, same facilities and mode, target AP type same or newer),
# so the migration succeeds; the guest then runs on the destination with the
# destination's mdev and is gone from the source. Migrating it back (CEX6 ->
# CEX5) is refused as incompatible hardware and the guest stays where it is.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_migration_hosts "Two hosts: source (CEX5 05 CCA + CEX5 06 accelerator), destination (CEX5 05 + CEX6 06)"
run cat '$SRC/devices/vfio_ap/matrix/features'
run cat '$SRC/devices/vfio_ap/matrix/$UUID/matrix'
run cat '$DST/devices/vfio_ap/matrix/$UUID/matrix'
check_eq "picture: src 05.0004 assigned to mdev A, no guest" "A" "$(show_cell src 05.0004)"

say "Start guest g1 on the source with the mdev (QEMU opens the vfio-ap device)"
run vfio-ap-sim guest start --host src g1 '$UUID'
show_host src
check_eq "picture: src 05.0004 in use by g1" "A*" "$(show_cell src 05.0004)"
run vfio-ap-sim guest show --host src g1
run cat '$SRC/devices/ap/card05/05.0004/status'
note "vfio-ap.rst: the queue is 'in use' while a guest has its mdev; the destination's is only 'assigned':"
run cat '$DST/devices/ap/card05/05.0004/status'
check_eq "source queue 05.0004 status" "in use" "$(cat "$SRC/devices/ap/card05/05.0004/status")"
check_eq "destination queue 05.0004 status before" "assigned" "$(cat "$DST/devices/ap/card05/05.0004/status")"
run vfio-ap-sim migration data-size --host src '$UUID'
note "stop_copy_length = 8 + 16 * 4 APQNs = 72"

say "Migrate g1 to the destination"
migrate_capture src dst g1
check_eq "migrate exit status" 0 "$MIGRATE_RC"
check_eq "nothing on stderr" "" "$(cat "$WORK/migrate.err")"

say "The guest runs on the destination with its mdev, and is gone from the source"
run vfio-ap-sim guest list --host dst
run vfio-ap-sim guest show --host dst g1
run vfio-ap-sim guest list --host src
run cat '$DST/devices/ap/card06/06.0004/status' '$SRC/devices/ap/card06/06.0004/status'
check_line "guest list on the destination" "g1 running $UUID" "$(vfio-ap-sim guest list --host dst)"
check_no_line "guest list on the source" "g1 " "$(vfio-ap-sim guest list --host src)"
show=$(vfio-ap-sim guest show --host dst g1)
check_line "destination guest's adapters" "APM: 0x0600000000000000000000000000000000000000000000000000000000000000" "$show"
check_line "destination guest's domains" "AQM: 0x0800000000000000000000000000000000000000001000000000000000000000" "$show"
check_regex "destination guest sees the CEX6 accelerator" '06\.00ab +CEX6A +Accelerator +online' "$show"
for q in 05.0004 05.00ab 06.0004 06.00ab; do
    check_eq "destination queue $q status" "in use" "$(cat "$DST/devices/ap/card${q%%.*}/$q/status")"
    check_eq "source queue $q status" "assigned" "$(cat "$SRC/devices/ap/card${q%%.*}/$q/status")"
done
check_eq "picture: dst 06.00ab in use by g1" "A*" "$(show_cell dst 06.00ab)"
check_eq "picture: src 06.00ab assigned, no guest" "A" "$(show_cell src 06.00ab)"
check_eq "destination device state" RUNNING "$(vfio-ap-sim migration get-state --host dst "$UUID")"

say "Migrating back to the CEX5 host fails: the target AP type (CEX5) is older than the source's (CEX6)"
note "vfio-ap.rst prints on the console:"
note "error: operation failed: job 'migration in' failed: load of migration failed: Bad address"
migrate_capture dst src g1
check_failed_migration dst src g1 "error: operation failed: job 'migration in' failed: load of migration failed: Bad address"
kernel=$(section "destination host 'src' kernel log")
check_line "destination kernel log" "vfio_ap_mdev $UUID: Migration failed: Source and target queue (06.0004) not compatible" "$kernel"
check_line "destination kernel log" "vfio_ap_mdev $UUID: AP type of source (0c) not compatible with target (0b)" "$kernel"

finish
