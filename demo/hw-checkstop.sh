#!/usr/bin/env bash
# A card checkstops while a guest runs (`vfio-ap-sim hw card checkstop`).
# The kernel notices at its next AP bus scan (here forced with
# `echo 1 > scans`; the config_time timer would do it too): ap_scan_adapter
# and ap_scan_domains set the card's and the queues' chkstop, which is only
# logged to s390dbf — no uevent, no kernel-log line. Nothing leaves the bus,
# so vfio_ap unplugs nothing: the guest keeps the adapter and meets the
# checkstop itself (its lszcrypt STATUS). Cleared, the queues are
# re-initialised and the guest sees them online again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say "One host: CEX5 05 (CCA) and 06 (accelerator), domains 4 and 0xab; guest g1 has the mdev"
start_host src "$TOPOLOGIES/migration-source.yaml"
SYS="$WORK/src"
M="$SYS/devices/vfio_ap/matrix/$UUID"
C="$SYS/devices/ap/card05"
run vfio-ap-sim guest start --host src g1 '$UUID'
show_host src
log_before=$(vfio-ap-sim dmesg --host src)
status_rows() { vfio-ap-sim guest show --host src g1 | sed -n '/^----/,$p' | tail -n +2 | awk '{print $1 "=" $NF}' | paste -sd' '; }

say "Card 05 checkstops; the kernel has not looked yet"
run vfio-ap-sim hw card checkstop 5 --no-scan --host src
run cat '$C/chkstop'
check_eq "chkstop before the scan" 0 "$(cat "$C/chkstop")"
show_host src
check_eq "picture: the kernel's view, 05.0004 still online" "A*" "$(show_cell src 05.0004)"
run vfio-ap-sim hw show --host src
check_line "a scan is pending" "scan pending: yes" "$(vfio-ap-sim hw show --host src)"
run vfio-ap-sim guest show --host src g1
check_eq "the guest meets the checkstop at once" "05=checkstop 05.0004=checkstop 05.00ab=checkstop 06=online 06.0004=online 06.00ab=online" "$(status_rows)"

say "The next AP bus scan"
run 'echo 1 > $SYS/bus/ap/scans'
run cat '$C/chkstop' '$C/05.0004/chkstop' '$C/config' '$C/05.0004/config' '$C/online'
check_eq "card chkstop" 1 "$(cat "$C/chkstop")"
check_eq "queue chkstop" 1 "$(cat "$C/05.00ab/chkstop")"
check_eq "config stays" 1 "$(cat "$C/05.0004/config")"
check_eq "zcrypt online needs no checkstop" 0 "$(cat "$C/online")"
run cat '$M/guest_matrix' '$C/05.0004/status'
check_eq "vfio_ap unplugs nothing" "05.0004 05.00ab 06.0004 06.00ab" "$(paste -sd' ' "$M/guest_matrix")"
check_eq "05.0004 still in use" "in use" "$(cat "$C/05.0004/status")"
show_host src
check_eq "picture: 05.0004 in use, checkstopped" "A*/chk" "$(show_cell src 05.0004)"
check_eq "the kernel printed nothing" "$log_before" "$(vfio-ap-sim dmesg --host src)"

say "The checkstop is cleared (and the kernel told at once)"
run vfio-ap-sim hw card clear 5 --host src
run cat '$C/chkstop' '$C/05.0004/chkstop' '$C/05.0004/reset'
check_eq "card chkstop" 0 "$(cat "$C/chkstop")"
check_eq "queue re-initialised" "No Reset Timer set." "$(cat "$C/05.0004/reset")"
show_host src
check_eq "picture: 05.0004 in use, online" "A*" "$(show_cell src 05.0004)"
run vfio-ap-sim guest show --host src g1
check_eq "the guest sees them online" "05=online 05.0004=online 05.00ab=online 06=online 06.0004=online 06.00ab=online" "$(status_rows)"
check_eq "the kernel printed nothing" "$log_before" "$(vfio-ap-sim dmesg --host src)"

finish
