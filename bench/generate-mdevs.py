#!/usr/bin/env python3
"""Writes a topology of COUNT mdevs on the 65,536-queue host of
demo/topologies/large.yaml: every queue given to vfio_ap (apmask and aqmask
zero), mdev k holding the one APQN adapter k % 256, domain k // 256 (and
that domain as control domain), so no two share a queue. For bench/run.sh;
never committed as a file.  Usage: generate-mdevs.py COUNT OUT"""
import os, sys

count, out = int(sys.argv[1]), sys.argv[2]
assert 0 < count <= 65536
base = open(os.path.join(os.path.dirname(__file__), "..", "demo", "topologies", "large.yaml")).read()
lines = [base.replace("name: large", "name: mdevs%d" % count, 1).rstrip("\n"), "",
         'ap_bus: {apmask: "0x00", aqmask: "0x00"}', "", "mdevs:"]
for k in range(count):
    a, d = k % 256, k // 256
    lines.append("  - {uuid: %08x-0000-4000-8000-%012x, adapters: [%d], domains: [%d], control_domains: [%d]}"
                 % (k, k, a, d, d))
open(out, "w").write("\n".join(lines) + "\n")
