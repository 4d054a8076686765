#!/usr/bin/env bash
# vfio-ap.rst, "The source guest is not enabled for migration": the guest's
# vfio-ap device was started with QEMU's enable-migration off, so QEMU reports
# a migration blocker and libvirt refuses (qemuMigrationSrcIsAllowed asks
# QEMU's query-migrate blocked-reasons).
#
#   Source host, console log:
#     error: Requested operation is not valid: cannot migrate domain: $UUID:
#     Migration is disabled for VFIO device
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_migration_hosts "Two compatible hosts (the same as demo/migrate-success.sh)"

say "Start the guest with migration disabled for its vfio-ap device"
run vfio-ap-sim guest start --host src --migration off g1 '$UUID'
run vfio-ap-sim guest list --host src
show_host src

say "Migrate"
note "vfio-ap.rst, source host console log:"
note "error: Requested operation is not valid: cannot migrate domain: \$UUID: Migration is disabled for VFIO device"
migrate_capture src dst g1
check_failed_migration src dst g1 "error: Requested operation is not valid: cannot migrate domain: $UUID: Migration is disabled for VFIO device"
check_eq "no QEMU or kernel log sections" "" "$(cat "$WORK/migrate.out")"
check_eq "destination mdev not opened" "assigned" "$(cat "$DST/devices/ap/card05/05.0004/status")"
check_eq "picture: dst 05.0004 assigned, no guest" "A" "$(show_cell dst 05.0004)"
check_eq "source device still RUNNING" RUNNING "$(vfio-ap-sim migration get-state --host src "$UUID")"

say "Restarted with migration enabled (auto), the same guest migrates"
run vfio-ap-sim guest stop --host src g1
run vfio-ap-sim guest start --host src g1 '$UUID'
show_host src
migrate_capture src dst g1
check_eq "migrate exit status with migration enabled" 0 "$MIGRATE_RC"

finish
