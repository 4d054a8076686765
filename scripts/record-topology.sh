#!/bin/sh
# record-topology.sh: write the vfio-ap-sim topology that reproduces what a
# sysfs tree shows of the s390 AP bus, zcrypt and vfio_ap.
#
#   scripts/record-topology.sh [--name NAME] [SYSFS_ROOT] > topo.yaml
#
# SYSFS_ROOT is /sys by default, or any mounted tree (an emulated host's
# mount point). Strictly POSIX sh and POSIX awk, so it runs unchanged on an
# s390 host (dash, busybox sh); it only reads (awk, cat, ls, readlink),
# never writes below SYSFS_ROOT. The output is canonical: the
# same tree gives the same bytes (ids as 0x%02x, lists ascending, mdevs by
# iommu group). docs/FIDELITY.md ("The recorder") says how the TAPQ word is
# rebuilt and what a real host's sysfs cannot tell.
set -u

name=recorded
while [ $# -gt 0 ]; do
    case $1 in
    --name) [ $# -ge 2 ] || { echo "record-topology.sh: --name needs a value" >&2; exit 2; }
            name=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "record-topology.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
done
[ $# -le 1 ] || { echo "usage: record-topology.sh [--name NAME] [SYSFS_ROOT]" >&2; exit 2; }
root=${1:-/sys}
root=${root%/}
[ -n "$root" ] || root=/
LC_ALL=C
export LC_ALL

if [ ! -d "$root/bus/ap" ]; then
    echo "record-topology.sh: $root/bus/ap does not exist: not an s390 sysfs tree with the AP bus" >&2
    exit 1
fi

# The shell lists directories (awk cannot); awk reads every attribute.
# C: a card device, Q: a queue device, D: a queue bound to a driver,
# M: an mdev with its iommu group and VFIO device index.
{
    for c in $(ls "$root/devices/ap" 2>/dev/null); do
        case $c in card[0-9a-f][0-9a-f]) ;; *) continue ;; esac
        echo "C $c"
        for q in $(ls "$root/devices/ap/$c" 2>/dev/null); do
            case $q in [0-9a-f][0-9a-f].[0-9a-f][0-9a-f][0-9a-f][0-9a-f]) echo "Q $c $q" ;; *) continue ;; esac
            # ap_queue_dev_sb_attrs: on every queue or on none (an SE guest with APSB).
            [ -e "$root/devices/ap/$c/$q/se_bind" ] && echo "S"
        done
    done
    # The driver's directory links its devices (driver core `driver_bound`):
    # two listings instead of one readlink per queue.
    for d in cex4queue vfio_ap; do
        for q in $(ls "$root/bus/ap/drivers/$d" 2>/dev/null); do
            case $q in [0-9a-f][0-9a-f].[0-9a-f][0-9a-f][0-9a-f][0-9a-f]) echo "D $q $d" ;; esac
        done
    done
    mx=$root/devices/vfio_ap/matrix
    for u in $(ls "$mx" 2>/dev/null); do
        case $u in
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-*-*-*-*) ;;
        *) continue ;;
        esac
        g=$(readlink "$mx/$u/iommu_group" 2>/dev/null)
        g=${g##*/}
        v=$(ls "$mx/$u/vfio-dev" 2>/dev/null)
        v=${v#vfio}
        echo "M $u ${g:--} ${v:--}"
    done
} | RECORD_ROOT=$root RECORD_NAME=$name awk '
# Reads a whole file; RDERR is 1 when it cannot be read (absent, 0200, EIO).
function rd(f,   l, t, r) {
    t = ""; RDERR = 0
    while ((r = (getline l < f)) > 0) t = t l "\n"
    if (r < 0) RDERR = 1
    close(f)
    return t
}
function rd1(f,   t) { t = rd(f); sub(/\n$/, "", t); return t }
# The attributes whose show() fails by design (EIO from a TAPQ response
# past BUSY, an associated queue without index) go through cat: some awks
# (mawk) end the whole program on a read error.
function rdcat(rel,   cmd, l, t) {
    cmd = "cat \"$RECORD_ROOT/" rel "\" 2>/dev/null"; t = ""
    while ((cmd | getline l) > 0) t = t l "\n"
    close(cmd)
    sub(/\n$/, "", t)
    return t
}
function hexval(s,   i, v, c) {
    s = tolower(s); sub(/^0x/, "", s)
    if (s == "") return -1
    v = 0
    for (i = 1; i <= length(s); i++) {
        c = index("0123456789abcdef", substr(s, i, 1))
        if (c == 0) return -1
        v = v * 16 + c - 1
    }
    return v
}
# Bit n of v; powers of two by multiplication (busybox awk may lack `^`).
function bit(v, n) { return int(v / P2[n]) % 2 }
BEGIN { p = 1; for (i = 0; i < 64; i++) { P2[i] = p; p *= 2 } }
# Eight hex digits without printf %x, whose range differs between awks.
function hex8(v,   s, i) {
    s = ""
    for (i = 0; i < 8; i++) { s = substr("0123456789abcdef", v % 16 + 1, 1) s; v = int(v / 16) }
    return s
}
function h2(n) { return sprintf("0x%02x", n) }
# IDs of a mask as `0x` + hex digits, MSB first: digit k holds IDs 4k..4k+3.
function maskids(m,   i, d, b, out) {
    m = tolower(m); sub(/^0x/, "", m); out = ""
    for (i = 1; i <= length(m); i++) {
        d = index("0123456789abcdef", substr(m, i, 1)) - 1
        if (d < 0) return ""
        for (b = 0; b < 4; b++) if (bit(d, 3 - b)) out = out " " (4 * (i - 1) + b)
    }
    return substr(out, 2)
}
# A flow list of IDs, runs of three or more as ranges: [0x04, 0x10-0x13].
function yamlids(s,   n, a, i, j, out) {
    n = split(s, a, " "); out = ""; i = 1
    while (i <= n) {
        j = i
        while (j < n && a[j + 1] + 0 == a[j] + 1) j++
        if (j - i >= 2) { out = out ", " h2(a[i]) "-" h2(a[j]); i = j + 1 }
        else { out = out ", " h2(a[i]); i++ }
    }
    return "[" substr(out, 3) "]"
}
function flowlist(s,   n, a, i, out) {
    n = split(s, a, " "); out = ""
    for (i = 1; i <= n; i++) out = out ", " a[i]
    return "[" substr(out, 3) "]"
}
# A YAML string: double quotes, or single quotes (no escapes but a doubled
# quote) when it has a backslash or a double quote; awks differ on gsub escapes.
function quote(s,   q, i, c, out) {
    if (index(s, "\\") == 0 && index(s, "\"") == 0) return "\"" s "\""
    q = sprintf("%c", 39); out = ""
    for (i = 1; i <= length(s); i++) { c = substr(s, i, 1); out = out c (c == q ? q : "") }
    return q out q
}
function yesno(b) { return b ? "true" : "false" }
# What mkvps shows for a domain with no master keys loaded
# (Queue.unloadedMasterKeys): CCA registers empty/invalid with zero
# patterns, EP11 wrapping keys invalid/empty.
function unloaded(cca,   k, r, t, z16, z32, i, j) {
    if (!cca) return "WK CUR: invalid -\nWK NEW: empty -\n"
    z16 = "0000000000000000"; z32 = z16 z16; t = ""
    split("AES APKA ASYM", k, " "); split("NEW CUR OLD", r, " ")
    for (i = 1; i <= 3; i++) for (j = 1; j <= 3; j++)
        t = t k[i] " " r[j] ": " (j == 1 ? "empty" : "invalid") " 0x" (k[i] == "ASYM" ? z32 : z16) "\n"
    return t
}
# The mdev masks from ap_config, or from matrix and control_domains on a
# kernel without ap_config.
function mdevmasks(p,   t, n, l, i, parts, a, d, c) {
    t = rd1(p "/ap_config")
    if (!RDERR && split(t, parts, ",") == 3) {
        MA = maskids(parts[1]); MD = maskids(parts[2]); MC = maskids(parts[3]); return
    }
    t = rd(p "/matrix"); n = split(t, l, "\n")
    for (i = 1; i <= n; i++) {
        if (l[i] == "") continue
        split(l[i], parts, ".")
        if (parts[1] != "") a[hexval(parts[1])] = 1
        if (parts[2] != "") d[hexval(parts[2])] = 1
    }
    t = rd(p "/control_domains"); n = split(t, l, "\n")
    for (i = 1; i <= n; i++) if (l[i] != "") c[hexval(l[i])] = 1
    MA = ""; MD = ""; MC = ""
    for (i = 0; i < 256; i++) {
        if (i in a) MA = MA " " i
        if (i in d) MD = MD " " i
        if (i in c) MC = MC " " i
    }
    MA = substr(MA, 2); MD = substr(MD, 2); MC = substr(MC, 2)
}
$1 == "C" { card[hexval(substr($2, 5))] = 1 }
$1 == "Q" { nq[$2]++; qs[$2, nq[$2]] = $3 }
$1 == "D" { drv[$2] = $3 }
$1 == "S" { anyse = 1 }
$1 == "M" { nm++; mu[nm] = $2; mg[nm] = $3; mv[nm] = $4 }
END {
    root = ENVIRON["RECORD_ROOT"]
    ap = root "/bus/ap"; dv = root "/devices/ap"; mx = root "/devices/vfio_ap/matrix"

    # Machine: QCI flags (features_show; `-` is "QCI not supported"),
    # APXA limits, Secure Execution, AP interrupts.
    feat = rd1(ap "/features"); featerr = RDERR
    qci = featerr || feat != "-"
    maxa = rd1(ap "/ap_max_adapter_id") + 0
    maxd = rd1(ap "/ap_max_domain_id") + 0
    irq = rd1(ap "/ap_interrupts")
    pv = rd1(root "/firmware/uv/prot_virt_guest"); pverr = RDERR
    vf = rd1(mx "/features"); vferr = RDERR

    if (qci) {
        split(maskids(rd1(ap "/ap_adapter_mask")), t, " ")
        for (i in t) cfgadapter[t[i] + 0] = 1
        usage = maskids(rd1(ap "/ap_usage_domain_mask"))
        control = maskids(rd1(ap "/ap_control_domain_mask"))
    }

    out = ""; queues = ""
    for (id = 0; id < 256; id++) {
        if (!(id in card)) {
            # In ap_adapter_mask without a card device: ap_scan_adapter
            # found no APQN with TAPQ info (or an unsupported type).
            if (id in cfgadapter) out = out "  - id: " h2(id) "\n    hwinfo: \"0x0000000000000000\"  # in the configuration, no card device\n"
            continue
        }
        cn = sprintf("card%02x", id); cd = dv "/" cn
        at = rd1(cd "/raw_hwtype") + 0
        qd = rd1(cd "/depth") - 1
        if (qd < 0) qd = 0
        mms = rd1(cd "/max_msg_size") + 0
        cfac = hexval(rd1(cd "/ap_functions"))
        if (cfac < 0) cfac = 0
        # max_msg_size is ml * 4096, or 12288 when ml is 0: 12288 is read as ml 0.
        ml = (mms == 12288) ? 0 : int(mms / 4096)
        lower = at * 16777216 + maxd * 65536 + ml * 256 + qd
        cca = bit(cfac, 28); acc = bit(cfac, 27); ep = bit(cfac, 26)
        aw = "0x" hex8(int(cfac / 65536) * 65536) hex8(lower)
        out = out "  - id: " h2(id) "\n"
        if (cca + acc + ep != 1) {
            # No single mode: the named fields cannot say it, the word can.
            out = out "    hwinfo: \"" aw "\"\n"
        } else {
            if (at >= 10 && at <= 14) out = out "    type: CEX" (at - 6) "\n"
            else out = out "    raw_type: " at "\n"
            out = out "    mode: " (cca ? "cca" : (acc ? "accel" : "ep11")) "\n"
            f = ""
            if (bit(cfac, 31)) f = f " APSC"
            if (bit(cfac, 30)) f = f " AP4KM"
            if (bit(cfac, 29)) f = f " AP4KC"
            if (bit(cfac, 25)) f = f " APXA"
            if (bit(cfac, 24)) f = f " SLCF"
            out = out "    facilities: " flowlist(f) "\n"
            cl = int(cfac / 65536) % 256
            out = out "    classification: " (cl == 128 ? "native" : (cl == 64 ? "stateless" : h2(cl))) "\n"
            out = out "    depth: " qd "\n"
            if (ml > 0) out = out "    max_msg_size: " (ml * 4096) "\n"
        }
        cfg = rd1(cd "/config"); chk = rd1(cd "/chkstop")
        onl = rd1(cd "/online"); onlerr = RDERR
        if (cfg == "0") out = out "    configured: false\n"
        if (chk == "1") out = out "    checkstopped: true\n"
        if (!onlerr && onl == "0" && cfg == "1" && chk == "0") out = out "    online: false\n"
        sn = rd1(cd "/serialnr")
        if (ep) sub(/^ +/, "", sn)
        if (sn != "") out = out "    serial_number: " quote(sn) "\n"
        if (ep) {
            ao = rd1(cd "/API_ordinalnr"); if (ao != "") out = out "    api_ordinal: " ao "\n"
            fw = rd1(cd "/FW_version"); if (fw != "") out = out "    fw_version: " quote(fw) "\n"
            om = rd1(cd "/op_modes"); if (om != "") out = out "    op_modes: " flowlist(om) "\n"
        }

        for (k = 1; k <= nq[cn]; k++) {
            qn = qs[cn, k]; qp = cd "/" qn; qrel = "devices/ap/" cn "/" qn
            if (!qci) { split(qn, t, "."); qdom[hexval(t[2])] = 1 }
            qconf = rd1(qp "/config"); qchk = rd1(qp "/chkstop")
            hw = tolower(rd1(qp "/hwinfo")); hwerr = RDERR
            # The TAPQ word: the emulator shows it whole (`hwinfo`); a real
            # host shows the queue facility word (EIO past TAPQ BUSY) and
            # the card the rest.
            if (hwerr || length(hw) != 18 || hexval(hw) < 0) {
                qfs = hexval(rdcat(qrel "/ap_functions"))
                hw = "0x" hex8(qfs >= 0 ? qfs : int(cfac / 65536) * 65536) hex8(lower)
            }
            d = (qn in drv) ? drv[qn] : ""
            ok = qconf == "1" && qchk == "0"
            # dev_state and the reset state the AP bus leaves at boot:
            # zcrypt_cex4_queue_probe initialises every queue it binds,
            # ap_scan_domains every configured one not in checkstop.
            init = rd1(qp "/request_count") != "-"
            pend = rd1(qp "/reset") == "Reset in progress."
            qonl = rd1(qp "/online"); qonlerr = RDERR
            dov = rd1(qp "/driver_override")
            mk = rd(qp "/mkvps"); mkerr = RDERR
            sa = anyse ? rdcat(qrel "/se_associate") : ""
            q = ""
            if (hw != aw) q = q "    hwinfo: \"" hw "\"\n"
            if (qconf == "0" && cfg == "1") q = q "    configured: false\n"
            if (qchk == "1" && chk == "0") q = q "    checkstopped: true\n"
            if (dov != "") q = q "    driver_override: " quote(dov) "\n"
            # zcrypt online: an offline card took its queues along, but a
            # queue bound to cex4queue since is online (zcrypt_cex4_queue_probe).
            if (!qonlerr && qonl == "0" && ok && onl == "1") q = q "    online: false\n"
            if (!qonlerr && qonl == "1" && onl == "0") q = q "    online: true\n"
            if (init != (d == "cex4queue" ? 1 : ok)) q = q "    dev_state: " (init ? "operating" : "uninitiated") "\n"
            if (pend != !ok) q = q "    reset_pending: " yesno(pend) "\n"
            # se_associate_show: the index, or only that one is pending
            # (any index reads so; the emulator completes at once).
            if (sa ~ /^associated [0-9]+$/) q = q "    association_index: " substr(sa, 12) "\n"
            else if (sa == "association pending") q = q "    association_index: 0  # pending: the index is not shown\n"
            if (!mkerr && qonl == "1" && mk != unloaded(cca)) {
                n = split(mk, l, "\n"); m = ""
                for (j = 1; j <= n; j++) {
                    c = index(l[j], ": ")
                    if (c == 0) continue
                    v = substr(l[j], c + 2)
                    if (v == "- -") continue
                    sub(/ -$/, "", v)
                    m = m "      " substr(l[j], 1, c - 1) ": " v "\n"
                }
                q = q (m == "" ? "    master_keys: {}\n" : "    master_keys:\n" m)
            }
            if (q != "") queues = queues "  - apqn: \"" qn "\"\n" q
        }
    }
    if (!qci) {
        usage = ""
        for (i = 0; i < 256; i++) if (i in qdom) usage = usage " " i
        usage = substr(usage, 2)
    }

    printf "# Recorded by scripts/record-topology.sh from a sysfs tree: what it shows\n"
    printf "# of the AP bus, zcrypt and vfio_ap (docs/FIDELITY.md, \"The recorder\").\n"
    printf "name: %s\n\nmachine:\n", ENVIRON["RECORD_NAME"]
    if (!qci) printf "  qci: false  # features reads -: no QCI info\n  facilities: []\n"
    else if (featerr) printf "  qci: true  # no features file: the QCI flags are the defaults\n"
    else printf "  qci: true\n  facilities: %s\n", flowlist(feat)
    printf "  ap_max_adapter_id: %d\n  ap_max_domain_id: %d\n", maxa, maxd
    printf "  secure_execution_guest: %s\n", yesno(pverr ? anyse : pv == "1")
    printf "  interrupts: %s\n", yesno(irq == "1")
    if (!vferr) printf "\nvfio_ap:\n  features: %s\n", flowlist(vf)
    printf "\nadapters:%s\n%s", (out == "" ? " []" : ""), out
    printf "\nusage_domains: %s\n", yamlids(usage)
    if (qci) printf "control_domains: %s\n", yamlids(control)
    if (queues != "") printf "\nqueues:\n%s", queues

    printf "\nap_bus:\n"
    printf "  apmask: \"%s\"\n  aqmask: \"%s\"\n", rd1(ap "/apmask"), rd1(ap "/aqmask")
    printf "  ap_domain: %d\n", rd1(ap "/ap_domain")
    ct = rd1(ap "/config_time"); if (ct != "" && ct != "30") printf "  config_time: %s\n", ct
    pt = rd1(ap "/poll_timeout"); if (pt != "" && pt != "250000") printf "  poll_timeout: %s\n", pt
    if (rd1(ap "/poll_thread") == "1") printf "  poll_thread: true\n"
    bc = rd1(ap "/bindings_complete_count"); if (bc != "" && bc != "1") printf "  bindings_complete_count: %s\n", bc

    # mdevs by iommu group (their creation order while none was removed),
    # then UUID: an insertion sort, POSIX awk has none.
    for (i = 2; i <= nm; i++) {
        for (j = i; j > 1; j--) {
            a = (mg[j - 1] == "-" ? 1e9 : mg[j - 1] + 0); b = (mg[j] == "-" ? 1e9 : mg[j] + 0)
            if (a < b || (a == b && mu[j - 1] < mu[j])) break
            t1 = mu[j]; mu[j] = mu[j - 1]; mu[j - 1] = t1
            t1 = mg[j]; mg[j] = mg[j - 1]; mg[j - 1] = t1
            t1 = mv[j]; mv[j] = mv[j - 1]; mv[j - 1] = t1
        }
    }
    if (nm > 0) printf "\nmdevs:\n"
    for (i = 1; i <= nm; i++) {
        mdevmasks(mx "/" mu[i])
        printf "  - uuid: %s\n", mu[i]
        printf "    adapters: %s\n    domains: %s\n    control_domains: %s\n", yamlids(MA), yamlids(MD), yamlids(MC)
        if (mg[i] != "-") printf "    iommu_group: %d\n", mg[i]
        if (mv[i] != "-") printf "    vfio_device: %d\n", mv[i]
    }
}'
