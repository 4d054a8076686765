#!/usr/bin/env bash
# A running guest loses an adapter and gets it back: adapter 06 is removed
# from the partition's AP configuration (an HMC change; `vfio-ap-sim hw`),
# and the kernel answers as ap_bus.c and vfio_ap_ops.c do: the CHSC
# notification makes the AP bus scan (ap_scan_bus), vfio_ap_on_cfg_changed
# unplugs 06 from the guest's matrix, and ap_scan_adapter removes card06
# with its queue devices. The mdev keeps its assignments. When 06 comes back
# the scan makes the devices again, binds them to vfio_ap (apmask/aqmask),
# and vfio_ap_on_scan_complete plugs 06 back into the guest. The kernel
# prints nothing for any of it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "One host: CEX5 05 (CCA) and 06 (accelerator), domains 4 and 0xab, all vfio_ap's; guest g1 has the mdev"
start_host src "$TOPOLOGIES/migration-source.yaml"
SYS="$WORK/src"
M="$SYS/devices/vfio_ap/matrix/$UUID"
run vfio-ap-sim guest start --host src g1 '$UUID'
show_host src
run cat '$SYS/bus/ap/ap_adapter_mask'
run 'ls $SYS/bus/ap/devices'
run cat '$M/guest_matrix'
log_before=$(vfio-ap-sim dmesg --host src)

rows() { vfio-ap-sim guest show --host src g1 | sed -n '/^----/,$p' | tail -n +2 | awk '{print $1}' | paste -sd' '; }

say "The HMC takes adapter 06 out of the partition's AP configuration"
run vfio-ap-sim hw adapter remove 0x06 --host src
run cat '$SYS/bus/ap/ap_adapter_mask'
check_eq "ap_adapter_mask" "0x0400000000000000000000000000000000000000000000000000000000000000" "$(cat "$SYS/bus/ap/ap_adapter_mask")"
run 'ls $SYS/bus/ap/devices'
check_eq "card06 and its queues are gone" "05.0004 05.00ab card05" "$(ls "$SYS/bus/ap/devices" | paste -sd' ')"
run cat '$M/guest_matrix'
check_eq "guest_matrix" "05.0004 05.00ab" "$(paste -sd' ' "$M/guest_matrix")"
run cat '$M/matrix'
check_eq "the mdev keeps its assignments" "05.0004 05.00ab 06.0004 06.00ab" "$(paste -sd' ' "$M/matrix")"
run vfio-ap-sim guest show --host src g1
check_eq "the guest sees" "05 05.0004 05.00ab" "$(rows)"
check_eq "05.0004 still in use" "in use" "$(cat "$SYS/devices/ap/card05/05.0004/status")"
show_host src
check_eq "picture: 06.0004 assigned, no queue device" "(A)" "$(show_cell src 06.0004)"

say "Adapter 06 comes back"
run vfio-ap-sim hw adapter add 0x06 --host src
run 'ls $SYS/bus/ap/devices'
check_eq "card06 and its queues are back" "05.0004 05.00ab 06.0004 06.00ab card05 card06" "$(ls "$SYS/bus/ap/devices" | paste -sd' ')"
run 'readlink $SYS/devices/ap/card06/06.0004/driver'
check_eq "06.0004 bound to vfio_ap again" "vfio_ap" "$(basename "$(readlink "$SYS/devices/ap/card06/06.0004/driver")")"
run cat '$SYS/devices/ap/card06/06.0004/status' '$M/guest_matrix'
check_eq "06.0004 in use again" "in use" "$(cat "$SYS/devices/ap/card06/06.0004/status")"
check_eq "guest_matrix" "05.0004 05.00ab 06.0004 06.00ab" "$(paste -sd' ' "$M/guest_matrix")"
run vfio-ap-sim guest show --host src g1
check_eq "the guest sees" "05 05.0004 05.00ab 06 06.0004 06.00ab" "$(rows)"
run cat '$SYS/bus/ap/bindings' '$SYS/bus/ap/bindings_complete_count'
show_host src
check_eq "picture: 06.0004 in use again" "A*" "$(show_cell src 06.0004)"
check_eq "bindings complete again" "2" "$(cat "$SYS/bus/ap/bindings_complete_count")"
check_eq "the kernel printed nothing" "$log_before" "$(vfio-ap-sim dmesg --host src)"

say "The machine refuses what it cannot do"
run_fails vfio-ap-sim hw adapter add 0x06 --host src
check_eq "adding an adapter that is there already fails" 1 "$RC"

finish
