#!/usr/bin/env bash
# vfio-ap.rst, "Live guest migration failures due to AP configuration errors":
# "The destination host is missing the mediated device with the same name as
# the mdev attached to the source guest". libvirt looks the mdev up by UUID on
# the destination (virMediatedDeviceNew) before anything is migrated.
#
#   Source host, console log:
#     error: device not found: mediated device '$UUID' not found
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_migration_hosts "Source with the mdev; destination with the same hardware but no mdev" migration-target-no-mdev.yaml
run ls '$DST/devices/vfio_ap/matrix'
run vfio-ap-sim guest start --host src g1 '$UUID'
show_host src
check_eq "picture: dst 05.0004 vfio_ap's, in no mdev" "vfio" "$(show_cell dst 05.0004)"

say "Migrate"
note "vfio-ap.rst, source host console log:"
note "error: device not found: mediated device '\$UUID' not found"
note "(no QEMU or kernel log lines: the migration never starts)"
migrate_capture src dst g1
check_failed_migration src dst g1 "error: device not found: mediated device '$UUID' not found"
check_eq "no QEMU or kernel log sections" "" "$(cat "$WORK/migrate.out")"
check_no_line "source QEMU log untouched" "initiating migration" "$(vfio-ap-sim guest log --host src g1)"
check_eq "source queue 05.0004 still in use" "in use" "$(cat "$SRC/devices/ap/card05/05.0004/status")"

say "With the mdev created and configured on the destination, the same migration succeeds"
run 'echo $UUID > $DST/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create'
run 'echo "0x06,0x08000000000000000000000000000000000000000010,0x" > $DST/devices/vfio_ap/matrix/$UUID/ap_config'
run cat '$DST/devices/vfio_ap/matrix/$UUID/matrix'
show_host dst
migrate_capture src dst g1
check_eq "migrate exit status after creating the mdev" 0 "$MIGRATE_RC"
check_line "guest runs on the destination" "g1 running $UUID" "$(vfio-ap-sim guest list --host dst)"

finish
