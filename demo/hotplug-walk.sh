#!/usr/bin/env bash
# A walk through vfio_ap's dynamic configuration of a running guest
# (vfio-ap.rst "Hot plug/unplug support", features flag "hotplug"/"dyn",
# and "ap_config"): every assignment change of an mdev a guest is using is
# hot-plugged into, or out of, the guest's AP configuration (its CRYCB masks,
# shown by `guest show`), and a queue's vfio_ap `status` reads "in use" while
# it is passed through, "assigned" while it is only assigned, "unassigned"
# otherwise. The AP bus masks decide which queues vfio_ap has at all.
# Finally `echo 1 > remove`: the kernel relays a device request to the
# guest's QEMU, which unplugs the device and so releases the mdev; a guest
# that ignores the request keeps `remove` blocked until it stops.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "One host: adapters 05 (CEX5 CCA), 06 (CEX5 accel), 07 (CEX6 CCA); domains 4, 0xab"
start_host hp "$TOPOLOGIES/hotplug.yaml"
SYS="$WORK/hp"
M="$SYS/devices/vfio_ap/matrix/$UUID"
run cat '$SYS/devices/vfio_ap/matrix/features'
run cat '$SYS/bus/ap/apmask'
note "apmask holds adapter 07 only, aqmask every domain: 07's queues belong to the host (cex4queue), 05's and 06's to vfio_ap"
run 'readlink $SYS/devices/ap/card07/07.0004/driver $SYS/devices/ap/card05/05.0004/driver'

status_of() { cat "$SYS/devices/ap/card${1%%.*}/$1/status"; }
# guest_has ROW-REGEX: the guest's queue list has a row for it.
guest_view() { vfio-ap-sim guest show --host hp "$1"; }
expect_status() { check_eq "status of $1" "$2" "$(status_of "$1")"; }
expect_rows() {  # expect_rows GUEST ROW... : exactly these CARD.DOMAIN rows
    local want got
    want=$(printf '%s\n' "${@:2}")
    got=$(guest_view "$1" | sed -n '/^----/,$p' | tail -n +2 | awk '{print $1}')
    check_eq "guest $1 sees: ${*:2}" "$want" "$got"
}

say "Start guest g1 with the (empty) mdev"
run vfio-ap-sim guest start --host hp g1 '$UUID'
run vfio-ap-sim guest show --host hp g1
expect_status 05.0004 unassigned
show_host hp

say "Assign adapter 5: no domain yet, so no queue for the guest"
run 'echo 5 > $M/assign_adapter'
run cat '$M/guest_matrix'
expect_rows g1 05
show_host hp

say "Assign domain 4: 05.0004 is hot-plugged"
run 'echo 4 > $M/assign_domain'
run vfio-ap-sim guest show --host hp g1
run cat '$SYS/devices/ap/card05/05.0004/status'
expect_rows g1 05 05.0004
expect_status 05.0004 "in use"
show_host hp
check_eq "picture: 05.0004 in use by g1" "A*" "$(show_cell hp 05.0004)"

say "Assign adapter 6, domain 0xab and control domain 0xab"
run 'echo 6 > $M/assign_adapter'
run 'echo 0xab > $M/assign_domain'
run 'echo 0xab > $M/assign_control_domain'
run vfio-ap-sim guest show --host hp g1
expect_rows g1 05 05.0004 05.00ab 06 06.0004 06.00ab
check_line "guest ADM" "ADM: 0x0000000000000000000000000000000000000000001000000000000000000000" "$(guest_view g1)"
expect_status 06.00ab "in use"
show_host hp

say "Adapter 7 belongs to the host: assigning it is refused (EADDRNOTAVAIL)"
run_fails 'echo 7 > $M/assign_adapter'
check_eq "assign_adapter 7 refused" 1 "$RC"

say "Give adapter 7 to vfio_ap (apmask -7), then assign it: hot plug"
run 'echo -7 > $SYS/bus/ap/apmask'
run 'readlink $SYS/devices/ap/card07/07.0004/driver'
run cat '$SYS/devices/ap/card07/07.0004/status'
expect_status 07.0004 unassigned
run 'echo 7 > $M/assign_adapter'
run vfio-ap-sim guest show --host hp g1
expect_rows g1 05 05.0004 05.00ab 06 06.0004 06.00ab 07 07.0004 07.00ab
expect_status 07.0004 "in use"
show_host hp
check_eq "picture: 07.0004 in use by g1" "A*" "$(show_cell hp 07.0004)"

say "apmask +7 would take the guest's queues away: refused (EBUSY), the guest keeps them"
run_fails 'echo +7 > $SYS/bus/ap/apmask'
check_eq "apmask +7 refused" 1 "$RC"
run 'vfio-ap-sim dmesg --host hp | tail -2'
log=$(vfio-ap-sim dmesg --host hp | sed -E 's/^\[ *[0-9]+\.[0-9]{6}\] //')
check_line "kernel log" "vfio_ap_mdev $UUID: Can not reserve queue 07.0004 for host driver: in use by mdev" "$log"
check_line "kernel log" "vfio_ap_mdev $UUID: Can not reserve queue 07.00ab for host driver: in use by mdev" "$log"
expect_rows g1 05 05.0004 05.00ab 06 06.0004 06.00ab 07 07.0004 07.00ab

say "Unassign adapter 7 (hot unplug), then apmask +7 takes its queues back for the host"
run 'echo 7 > $M/unassign_adapter'
expect_rows g1 05 05.0004 05.00ab 06 06.0004 06.00ab
expect_status 07.0004 unassigned
run 'echo +7 > $SYS/bus/ap/apmask'
run 'readlink $SYS/devices/ap/card07/07.0004/driver'
check_eq "07.0004 back with cex4queue" "cex4queue" "$(basename "$(readlink "$SYS/devices/ap/card07/07.0004/driver")")"
check_eq "07.0004 has no vfio_ap status any more" "no" "$([[ -e $SYS/devices/ap/card07/07.0004/status ]] && echo yes || echo no)"
show_host hp
check_eq "picture: 07.0004 the host's again" "host" "$(show_cell hp 07.0004)"

say "A queue taken from vfio_ap (unbind 06.00ab) unplugs its whole adapter from the guest"
run 'echo 06.00ab > $SYS/bus/ap/drivers/vfio_ap/unbind'
run vfio-ap-sim guest show --host hp g1
run cat '$M/guest_matrix'
expect_rows g1 05 05.0004 05.00ab
expect_status 06.0004 assigned
show_host hp
check_eq "picture: 06.0004 filtered out of the guest_matrix" "A-" "$(show_cell hp 06.0004)"
check_eq "picture: 06.00ab bound to no driver" "A?" "$(show_cell hp 06.00ab)"
run 'echo 06.00ab > $SYS/bus/ap/drivers/vfio_ap/bind'
expect_rows g1 05 05.0004 05.00ab 06 06.0004 06.00ab
expect_status 06.0004 "in use"

say "ap_config: one write replaces the whole configuration (adapters 5,6; domain 4; control domain 4)"
run cat '$M/ap_config'
run 'echo 0x06,0x08,0x08 > $M/ap_config'
run cat '$M/ap_config'
run vfio-ap-sim guest show --host hp g1
expect_rows g1 05 05.0004 06 06.0004
check_line "guest ADM" "ADM: 0x0800000000000000000000000000000000000000000000000000000000000000" "$(guest_view g1)"
expect_status 05.00ab unassigned
note "a configuration with host-owned adapter 7 is refused as a whole (EADDRNOTAVAIL), nothing changes:"
run_fails 'echo 0x07,0x08,0x08 > $M/ap_config'
check_eq "ap_config with adapter 7 refused" 1 "$RC"
expect_rows g1 05 05.0004 06 06.0004
show_host hp

say "echo 1 > remove: the request is relayed to the guest, which releases the mdev at once"
run 'echo 1 > $M/remove'
run vfio-ap-sim guest show --host hp g1
run 'vfio-ap-sim dmesg --host hp | tail -2'
log=$(vfio-ap-sim dmesg --host hp | sed -E 's/^\[ *[0-9]+\.[0-9]{6}\] //')
check_line "kernel log" "vfio_ap_mdev $UUID: Relaying device request to user (#0)" "$log"
check_line "guest keeps running without the mdev" "g1 running -" "$(vfio-ap-sim guest list --host hp)"
check_eq "mdev gone" "no" "$([[ -e $M ]] && echo yes || echo no)"
expect_status 05.0004 unassigned
show_host hp
check_eq "picture: 05.0004 vfio_ap's, in no mdev" "vfio" "$(show_cell hp 05.0004)"

say "A guest that ignores device requests: remove blocks until the guest stops"
U2=4b0d2a3e-57c1-4a39-9dbd-0b3f1e1c2a77
M2="$SYS/devices/vfio_ap/matrix/$U2"
run 'echo $U2 > $SYS/devices/vfio_ap/matrix/mdev_supported_types/vfio_ap-passthrough/create'
run 'echo 0x04,0x08,0x08 > $M2/ap_config'
run vfio-ap-sim guest start --host hp --ignore-requests g2 '$U2'
expect_status 05.0004 "in use"
printf '$ echo 1 > $M2/remove &\n'
( echo 1 > "$M2/remove" ) &
REMOVE_PID=$!
BACKGROUND_PIDS+=("$REMOVE_PID")
sleep 1
if kill -0 "$REMOVE_PID" 2>/dev/null; then pass "remove still blocked after 1 s"; else fail "remove returned while the guest holds the mdev"; fi
show_host hp
run vfio-ap-sim guest show --host hp g2
note "the kernel cleared the guest's masks when it relayed the request; the mdev is still there:"
run 'ls -d $M2'
run vfio-ap-sim guest stop --host hp g2
REMOVE_RC=0
wait "$REMOVE_PID" || REMOVE_RC=$?
check_eq "remove completed after guest stop, status" 0 "$REMOVE_RC"
check_eq "second mdev gone" "no" "$([[ -e $M2 ]] && echo yes || echo no)"
run 'vfio-ap-sim dmesg --host hp | tail -3'
log=$(vfio-ap-sim dmesg --host hp | sed -E 's/^\[ *[0-9]+\.[0-9]{6}\] //')
check_line "kernel log" "vfio_ap_mdev $U2: Relaying device request to user (#0)" "$log"
show_host hp

finish
