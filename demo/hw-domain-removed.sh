#!/usr/bin/env bash
# Domain 0xab leaves the source host's AP configuration while guest g1 runs
# there (`vfio-ap-sim hw domain remove`): vfio_ap_on_cfg_changed takes it
# out of the guest's matrix first, so when ap_scan_domains removes the
# queue devices 05.00ab and 06.00ab the adapters stay with the guest. The
# mdev keeps its assignment, so another mdev's ap_config may still not
# take 05.00ab (EADDRINUSE, the kernel's warning), and a live migration to
# a host whose mdev has all four queues fails as the seed's validation
# decides (number of queues differ: No such device). With the domain back
# the guest regains it and the migration succeeds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_migration_hosts "Two hosts: src (CEX5 05 and 06) and dst (05 and a CEX6 06), domains 4 and 0xab, the mdev on both"
M="$SRC/devices/vfio_ap/matrix/$UUID"
run vfio-ap-sim guest start --host src g1 '$UUID'
show_host src
run cat '$M/guest_matrix'

say "The domain 0xab leaves src's AP configuration"
run vfio-ap-sim hw domain remove 0xab --host src
run cat '$SRC/bus/ap/ap_usage_domain_mask'
check_eq "ap_usage_domain_mask" "0x0800000000000000000000000000000000000000000000000000000000000000" "$(cat "$SRC/bus/ap/ap_usage_domain_mask")"
run 'ls $SRC/bus/ap/devices'
check_eq "the 0xab queues are gone" "05.0004 06.0004 card05 card06" "$(ls "$SRC/bus/ap/devices" | paste -sd' ')"
run cat '$M/guest_matrix' '$M/matrix'
check_eq "guest_matrix: both adapters stay" "05.0004 06.0004" "$(paste -sd' ' "$M/guest_matrix")"
check_eq "the mdev keeps its assignments" "05.0004 05.00ab 06.0004 06.00ab" "$(paste -sd' ' "$M/matrix")"
run vfio-ap-sim guest show --host src g1
check_line "the guest's AQM" "AQM: 0x0800000000000000000000000000000000000000000000000000000000000000" "$(vfio-ap-sim guest show --host src g1)"
show_host src
check_eq "picture: 05.00ab assigned, no queue device" "(A)" "$(show_cell src 05.00ab)"

say "Another mdev's ap_config may not take 05.00ab: it is still assigned"
U2=4b0d2a3e-57c1-4a39-9dbd-0b3f1e1c2a77
run 'echo $U2 > $SRC/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create'
AB=0x$(printf '0%.0s' $(seq 42))1   # domain 0xab: bit 171 of the mask
printf '$ echo 0x04,$AB,0x00 > $SRC/devices/vfio_ap/matrix/$U2/ap_config\n'
err=$( { echo "0x04,$AB,0x00" > "$SRC/devices/vfio_ap/matrix/$U2/ap_config"; } 2>&1 ) && RC=0 || RC=$?
printf '   %s\n   (exit status %s)\n' "$err" "$RC"
check_eq "ap_config refused" 1 "$RC"
check_regex "with EADDRINUSE" '.*write error: Address already in use' "$err"
run 'vfio-ap-sim dmesg --host src | tail -1'
log=$(vfio-ap-sim dmesg --host src | sed -E 's/^\[ *[0-9]+\.[0-9]{6}\] //')
check_line "kernel log" "vfio_ap_mdev $U2: Userspace may not assign queue 05.00ab to mdev: already assigned to $UUID" "$log"
check_eq "the second mdev got nothing" "" "$(cat "$SRC/devices/vfio_ap/matrix/$U2/matrix")"
show_host src

say "Migrate g1 to dst: 2 queues on the source, 4 on the target"
run vfio-ap-sim migration data-size --host src '$UUID'
migrate_capture src dst g1
check_failed_migration src dst g1 "error: operation failed: job 'migration in' failed: load of migration failed: No such device"
check_qemu_logs src dst g1
kernel=$(section "destination host 'dst' kernel log")
check_line "destination kernel log" "vfio_ap_mdev $UUID: migration failed: number of queues on source (2) and target (4) guests differ" "$kernel"

say "The domain comes back: the guest regains it, and the migration succeeds"
run vfio-ap-sim hw domain add 0xab --host src
run cat '$M/guest_matrix'
check_eq "guest_matrix" "05.0004 05.00ab 06.0004 06.00ab" "$(paste -sd' ' "$M/guest_matrix")"
show_host src
check_eq "picture: 05.00ab in use again" "A*" "$(show_cell src 05.00ab)"
migrate_capture src dst g1
check_eq "migrate exit status" 0 "$MIGRATE_RC"
check_line "the guest runs on dst" "g1 running $UUID" "$(vfio-ap-sim guest list --host dst)"

finish
