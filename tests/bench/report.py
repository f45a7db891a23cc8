#!/usr/bin/env python3
"""Turns mempin-bench's raw CSV into results.md, results.csv, memory.csv and
plot.png (cost per page against range size, one panel per page kind).

  report.py RAW.csv OUTDIR          the tables, the goals and the plot
  report.py --compare A.csv B.csv   run-to-run repeatability of two runs
"""
import csv
import io
import math
import os
import sys

PEERS = ["mempin", "floor", "io_uring", "mlock"]
PAGES = ["4k", "4k-scattered", "thp", "hugetlb"]
PAGE_LABEL = {"4k": "4 KiB pages", "4k-scattered": "4 KiB pages, scattered",
              "thp": "THP", "hugetlb": "hugetlb 2 MiB"}


def size_label(b):
    b = int(b)
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= div and b % div == 0:
            return f"{b // div} {unit}"
    return f"{b} B"


def read_raw(path):
    """Returns (info dict, time rows, mem rows) as dicts keyed by header."""
    info, times, mems = {}, [], []
    headers = {}
    with open(path, newline="") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            if line.startswith("#"):
                row = next(csv.reader(io.StringIO(line[1:])))
                headers[row[0]] = row[1:]
                continue
            row = next(csv.reader(io.StringIO(line)))
            kind = row[0]
            if kind == "info":
                info[row[1]] = ",".join(row[2:])
            elif kind in ("time", "mem") and kind in headers:
                hdr = headers[kind]
                # The layout of a mem row may itself hold commas: the
                # fields after it are fixed, so count from the end.
                vals = row[1:]
                if len(vals) > len(hdr):
                    extra = len(vals) - len(hdr)
                    i = hdr.index("layout")
                    vals = vals[:i] + [",".join(vals[i:i + extra + 1])] + \
                        vals[i + extra + 1:]
                d = dict(zip(hdr, vals))
                (times if kind == "time" else mems).append(d)
    return info, times, mems


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def fmt(x, digits=0):
    if x is None:
        return "n/a"
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def pinunpin_table(times):
    """{(page, range): {peer: row}}"""
    t = {}
    for r in times:
        if r["scenario"] != "pinunpin":
            continue
        t.setdefault((r["page"], int(r["range_bytes"])), {})[r["peer"]] = r
    return t


def cell(rows, peer, key):
    r = rows.get(peer)
    return fnum(r[key]) if r else None


def why_not(rows, peer):
    r = rows.get(peer)
    if r and r["note"].startswith("skipped"):
        return r["note"]
    return None


def report(raw, out):
    info, times, mems = read_raw(raw)
    os.makedirs(out, exist_ok=True)
    kernel = info.get("kernel", "?")
    unit = "instructions" if info.get("clock") == "icount" else "ns"
    md = []
    md.append(f"# mempin benchmark: {kernel}\n")
    md.append(f"Kernel {kernel}, clocksource {info.get('clocksource', '?')}, "
              f"{info.get('cpus', '?')} CPU(s), THP `{info.get('thp', '?')}`"
              f"{', quick run' if info.get('quick') == '1' else ''}. "
              "Figures are medians of several iterations after a warm-up, "
              + ("in ns of the guest clock, which under QEMU `-icount "
                 "shift=0,sleep=off` counts guest instructions (idle time, such "
                 "as waiting for an RCU grace period, jumps ahead to the next "
                 "timer deadline and is counted too). "
                 if unit == "instructions" else "in ns (CLOCK_MONOTONIC). ") +
              "Buffers are pre-faulted; THP and hugetlb buffers are "
              "2 MiB aligned, ranges under 2 MiB sit in one huge page. "
              "floor = one ioctl of the bench-only module that does "
              "`pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM)` in 512-page chunks "
              "into a kvmalloc'd array and `unpin_user_pages()`.\n")

    # --- pin+unpin ---------------------------------------------------------
    pt = pinunpin_table(times)
    res_rows = []
    md.append("## pin+unpin of one range\n")
    md.append("runs: physically contiguous runs of the range, from "
              "/proc/self/pagemap (mempin stores one 8-byte run per run; its "
              "unpin works per run). Plain 4 KiB pages are faulted first to last, "
              "and how contiguous the page allocator makes them varies from boot "
              "to boot, and so does mempin's cost on them (about 50 instructions "
              "per run). \"Scattered\" pages are faulted last to first, which "
              "from 64 MiB up gives one run per page, the worst case.\n")
    md.append("| pages | range | runs | mempin per call | mempin per page | floor per page "
              "| io_uring per page | mlock per page | mempin/floor | mempin/io_uring |")
    md.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    notes = set()
    for page in PAGES:
        for rng in sorted({k[1] for k in pt if k[0] == page}):
            rows = pt[(page, rng)]
            m = cell(rows, "mempin", "ns_page")
            vals = {p: cell(rows, p, "ns_page") for p in PEERS}
            rf = ratio(vals["mempin"], vals["floor"])
            ri = ratio(vals["mempin"], vals["io_uring"])
            cells = []
            for p in ("mempin", "floor", "io_uring", "mlock"):
                w = why_not(rows, p)
                if w:
                    notes.add(f"{p} {PAGE_LABEL[page]} {size_label(rng)}: {w}")
                cells.append(fmt(vals[p], 1) if vals[p] is not None else "—")
            note = rows.get("mempin", {}).get("note", "")
            runs = note.split(" runs")[0].split()[-1] if " runs" in note else "—"
            md.append(f"| {PAGE_LABEL[page]} | {size_label(rng)} | {runs} | "
                      f"{fmt(cell(rows, 'mempin', 'ns_call'))} | " +
                      " | ".join(cells) +
                      f" | {fmt(rf, 2)} | {fmt(ri, 3)} |")
            for p in PEERS:
                r = rows.get(p)
                if not r:
                    continue
                res_rows.append({
                    "scenario": "pinunpin", "peer": p, "op": r["op"],
                    "page": page, "range_bytes": rng, "n": 1,
                    "ns_call": r["ns_call"], "ns_page": r["ns_page"],
                    "mempin_floor": f"{rf:.4f}" if p == "mempin" and rf else "",
                    "mempin_io_uring": f"{ri:.4f}" if p == "mempin" and ri else "",
                    "note": r["note"]})
            th = rows.get("mempin", {}).get("note", "")
            if th.startswith("THP only"):
                notes.add(f"{PAGE_LABEL[page]} {size_label(rng)}: {th}")
    md.append("")
    md.append("mlock+munlock does not pin (a familiar reference only); on hugetlb "
              "mappings mlock does next to nothing (they are never on the LRU). "
              "io_uring: one `IORING_REGISTER_BUFFERS` of one iovec + "
              "`IORING_UNREGISTER_BUFFERS`; it takes at most 1 GiB per buffer "
              "and 16384 buffers per ring, pins with no handle per buffer (the "
              "whole table is registered and unregistered at once, or updated "
              "slot by slot), and so has no equivalent of the 100 000-pin "
              "scenario below.")
    if kernel.startswith("6.1."):
        md.append("On 6.1, `IORING_UNREGISTER_BUFFERS` waits for the ring's "
                  "resource node to quiesce (an RCU grace period and a work "
                  "item, about 12 ms whatever the size), so its figures are "
                  "dominated by that wait rather than by pinning.")
    for n in sorted(notes):
        md.append(f"- {n}")
    md.append("")

    # --- handles -----------------------------------------------------------
    hrows = [r for r in times if r["scenario"] == "handles"]
    hd = {}
    for r in hrows:
        hd.setdefault(r["op"], {})[int(r["n"])] = r
        res_rows.append({"scenario": "handles", "peer": "mempin", "op": r["op"],
                         "page": "4k", "range_bytes": r["range_bytes"],
                         "n": r["n"], "ns_call": r["ns_call"],
                         "ns_page": r["ns_page"], "mempin_floor": "",
                         "mempin_io_uring": "", "note": r["note"]})
    ns = sorted({int(r["n"]) for r in hrows})
    if len(ns) >= 2:
        lo, hi = ns[0], ns[-1]
        md.append(f"## {hi:,} separate 4 KiB pins in one container\n")
        md.append(f"Per operation, with the container holding {lo:,} vs {hi:,} "
                  "pins. \"Kept at N\": 1000 times, unpin a random pin by handle "
                  "and pin its page again. Fill: pins 1..N; drain: unpin all "
                  "N by handle in random order.\n")
        md.append(f"| operation | at {lo:,} pins | at {hi:,} pins | ratio |")
        md.append("| --- | ---: | ---: | ---: |")
        for op in ("unpin by handle", "pin", "pin (fill)", "unpin (drain)"):
            if op not in hd:
                continue
            a = fnum(hd[op].get(lo, {}).get("ns_call"))
            b = fnum(hd[op].get(hi, {}).get("ns_call"))
            md.append(f"| {op} | {fmt(a)} | {fmt(b)} | {fmt(ratio(b, a), 2)} |")
        md.append("")

    # --- batch -------------------------------------------------------------
    brows = {r["op"]: r for r in times if r["scenario"] == "batch"}
    for r in brows.values():
        res_rows.append({"scenario": "batch", "peer": r["peer"], "op": r["op"],
                         "page": "4k", "range_bytes": r["range_bytes"],
                         "n": r["n"], "ns_call": r["ns_call"],
                         "ns_page": r["ns_page"], "mempin_floor": "",
                         "mempin_io_uring": "", "note": r["note"]})
    if brows:
        md.append("## 1024 ranges of 4 KiB: one batch ioctl vs 1024 single ioctls\n")
        md.append("| per range | single ioctls | batch | single/batch |")
        md.append("| --- | ---: | ---: | ---: |")
        for what in ("pin", "unpin", "pin+unpin"):
            a = fnum(brows.get(f"single {what}", {}).get("ns_call"))
            b = fnum(brows.get(f"batch {what}", {}).get("ns_call"))
            md.append(f"| {what} | {fmt(a)} | {fmt(b)} | {fmt(ratio(a, b), 2)} |")
        nl = brows.get("null ioctl")
        if nl:
            md.append(f"| an ioctl doing nothing (ENOTTY) | {fmt(fnum(nl['ns_call']))} | | |")
        io_r = brows.get("register+unregister")
        if io_r:
            md.append(f"\nFor reference, io_uring registering the same 1024 "
                      f"ranges as 1024 iovecs in one call and unregistering "
                      f"them: {fmt(fnum(io_r['ns_call']))} per range.")
        md.append("")

    # --- memory ------------------------------------------------------------
    mem_csv = []
    if mems:
        md.append("## Kernel memory held by the bookkeeping\n")
        md.append("Measured from the kernel, pins held, against before pinning. "
                  "Primary: the payload's memory cgroup (`memory.stat` `slab` + "
                  "`vmalloc`): mempin allocates all of its bookkeeping "
                  "(struct mempin_region, the runs array) with "
                  "GFP_KERNEL_ACCOUNT, and the cgroup counts charged objects "
                  "to the byte (less a per-cpu stock of under a page). "
                  "Cross-check: system-wide `Slab` + `VmallocUsed` from "
                  "/proc/meminfo after writing /proc/sys/vm/stat_refresh, which "
                  "count whole slab pages (large kmallocs included) and "
                  "vmalloc'd pages, so a small allocation shows as 0 or as a "
                  "whole slab. One-pin layouts hold 8 identical pins of the "
                  "range and divide by 8, to get above that granularity. "
                  "`PageTables`, `KernelStack` and `Percpu` stay put (the range "
                  "is pre-faulted; no thread is made). io_uring rows: its "
                  "allocations are not all charged to the cgroup, so for it "
                  "read the system-wide column. runs = runs of physically "
                  "contiguous pages of the buffer, read from "
                  "/proc/self/pagemap: mempin stores 8 B per run.\n")
        md.append("| holder | layout | pages | pins | memcg slab+vmalloc "
                  "| Slab+VmallocUsed | ΔPageTables+KernelStack+Percpu "
                  "| runs (pagemap) | B per 4 KiB page | B per 2 MiB |")
        md.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in mems:
            other = sum(int(r[k]) for k in ("pagetables_b", "kernelstack_b",
                                               "percpu_b"))
            runs = int(r["runs_pagemap"])
            cg = fnum(r["memcg_b"])
            md.append(f"| {r['peer']} | {r['layout']} | {PAGE_LABEL[r['page']]} | "
                      f"{int(r['pins']):,} | "
                      f"{fmt(cg) if cg is not None and cg >= 0 else 'n/a'} | "
                      f"{fmt(fnum(r['slab_vmalloc_b']))} | {other:,} | "
                      f"{runs if runs >= 0 else '—'} | "
                      f"{fmt(fnum(r['b_per_4k']), 3)} | {fmt(fnum(r['b_per_2m']), 1)} |")
            mem_csv.append(r)
        md.append("")

    # --- goals -------------------------------------------------------------
    goals = []

    def goal(name, target, value, ok, detail):
        goals.append((name, target, value, ok, detail))

    big = [(k, v) for k, v in pt.items() if k[1] >= 2 << 20]
    rf = [(ratio(cell(v, "mempin", "ns_page"), cell(v, "floor", "ns_page")), k)
          for k, v in big]
    rf = [x for x in rf if x[0] is not None]
    if rf:
        worst = max(rf)
        goal("pin+unpin, ranges >= 2 MiB, any page size", "<= 1.05x floor",
             f"{worst[0]:.2f}x", worst[0] <= 1.05,
             f"worst: {PAGE_LABEL[worst[1][0]]} {size_label(worst[1][1])}; "
             f"best {min(rf)[0]:.2f}x")
    ri = [(ratio(cell(v, "mempin", "ns_page"), cell(v, "io_uring", "ns_page")), k)
          for k, v in pt.items()]
    ri = [x for x in ri if x[0] is not None]
    if ri:
        worst = max(ri)
        goal("pin+unpin, every size where io_uring applies", "<= 1.0x io_uring",
             f"{worst[0]:.3f}x", worst[0] <= 1.0,
             f"worst: {PAGE_LABEL[worst[1][0]]} {size_label(worst[1][1])}")
    one = pt.get(("4k", 4096))
    if one:
        r = ratio(cell(one, "mempin", "ns_call"), cell(one, "floor", "ns_call"))
        if r:
            goal("single 4 KiB pin+unpin round trip", "<= 2x floor", f"{r:.2f}x",
                 r <= 2, f"{fmt(cell(one, 'mempin', 'ns_call'))} vs "
                 f"{fmt(cell(one, 'floor', 'ns_call'))} per call")
    if len(ns) >= 2 and "unpin by handle" in hd:
        a = fnum(hd["unpin by handle"].get(ns[0], {}).get("ns_call"))
        b = fnum(hd["unpin by handle"].get(ns[-1], {}).get("ns_call"))
        r = ratio(b, a)
        if r:
            goal(f"unpin by handle at {ns[-1]:,} pins", f"<= 2x at {ns[0]:,} pins",
                 f"{r:.2f}x", r <= 2, f"{fmt(b)} vs {fmt(a)} per unpin")
    if brows:
        a = fnum(brows.get("single pin+unpin", {}).get("ns_call"))
        b = fnum(brows.get("batch pin+unpin", {}).get("ns_call"))
        r = ratio(a, b)
        detail = f"{fmt(b)} vs {fmt(a)} per range (pin+unpin)"
        sysc = fnum(brows.get("null ioctl", {}).get("ns_call"))
        fl = cell(pt.get(("4k", 4096), {}), "floor", "ns_call")
        if sysc and fl and fl > sysc:
            # Single ioctls pay two syscalls per range more than a batch;
            # the batch pays at least the floor's in-kernel pin+unpin.
            g = fl - sysc
            detail += (f"; a syscall costs {fmt(sysc)}, the floor's in-kernel "
                       f"pin+unpin of one page {fmt(g)}, so even with no "
                       f"bookkeeping at all the ratio could be at most "
                       f"(G + 2 syscalls) / G = {(g + 2 * sysc) / g:.2f}x")
        if r:
            goal("1024 ranges, batch vs single ioctls", "batch >= 3x cheaper per range",
                 f"{r:.2f}x", r >= 3, detail)
    m4 = [r for r in mems if r["peer"] == "mempin" and r["page"].startswith("4k")
          and int(r["pins"]) == 1]
    if m4:
        worst = max(m4, key=lambda r: fnum(r["b_per_4k"]))
        v = fnum(worst["b_per_4k"])
        pages = int(worst["range_bytes"]) / 4096
        # 8 B a page, plus the pin's own header (struct mempin_region).
        goal("bookkeeping, 4 KiB pages", "<= 8 B per pinned page", f"{v:.3f} B",
             v * pages <= 8 * pages + 256,
             f"worst layout: {PAGE_LABEL[worst['page']]}, {worst['layout']} "
             f"({v * pages - 8 * pages:+,.0f} B over 8 B a page: the pin's header)")
    mh = [r for r in mems if r["peer"] == "mempin" and not r["page"].startswith("4k")]
    if mh:
        one_pin = [r for r in mh if int(r["pins"]) == 1]
        many = [r for r in mh if int(r["pins"]) > 1]
        if one_pin:
            worst = max(one_pin, key=lambda r: fnum(r["b_per_2m"]))
            v = fnum(worst["b_per_2m"])
            goal("bookkeeping, THP/hugetlb (one 1 GiB pin)", "<= 64 B per 2 MiB",
                 f"{v:.1f} B", v <= 64, f"worst: {PAGE_LABEL[worst['page']]}")
        if many:
            worst = max(many, key=lambda r: fnum(r["b_per_2m"]))
            v = fnum(worst["b_per_2m"])
            goal("bookkeeping, THP/hugetlb (one pin per 2 MiB)", "<= 64 B per 2 MiB",
                 f"{v:.1f} B", v <= 64, f"worst: {PAGE_LABEL[worst['page']]}")
    md_goals = ["## Goals\n", "| figure | goal | measured | met | |",
                "| --- | --- | ---: | --- | --- |"]
    for name, target, value, ok, detail in goals:
        md_goals.append(f"| {name} | {target} | {value} | "
                        f"{'yes' if ok else '**no**'} | {detail} |")
    md_goals.append("")
    md = md[:2] + md_goals + md[2:]

    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    fields = ["scenario", "peer", "op", "page", "range_bytes", "n", "ns_call",
              "ns_page", "mempin_floor", "mempin_io_uring", "note"]
    with open(os.path.join(out, "results.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(res_rows)
    if mem_csv:
        with open(os.path.join(out, "memory.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(mem_csv[0].keys()))
            w.writeheader()
            w.writerows(mem_csv)
    plot(pt, kernel, unit, os.path.join(out, "plot.png"))
    print("\n".join(md))


def plot(pt, kernel, unit, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 9), sharey=True)
    axes = axes.flatten()
    styles = {"mempin": ("C0", "o", "-"), "floor": ("C2", "s", "--"),
              "io_uring": ("C3", "^", "-."), "mlock": ("C7", "x", ":")}
    for ax, page in zip(axes, PAGES):
        for peer in PEERS:
            xs, ys = [], []
            for rng in sorted({k[1] for k in pt if k[0] == page}):
                v = cell(pt[(page, rng)], peer, "ns_page")
                if v is not None and v > 0:
                    xs.append(rng)
                    ys.append(v)
            if xs:
                c, m, ls = styles[peer]
                ax.plot(xs, ys, color=c, marker=m, linestyle=ls, label=peer)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ticks = sorted({k[1] for k in pt if k[0] == page})
        ax.set_xticks(ticks)
        ax.set_xticklabels([size_label(t) for t in ticks])
        ax.set_title(PAGE_LABEL[page])
        ax.set_xlabel("range size")
        ax.grid(True, which="both", alpha=0.3)
    label = ("cost per 4 KiB page, pin+unpin (ns)" if unit == "ns" else
             "cost per 4 KiB page, pin+unpin (guest instructions)")
    axes[0].set_ylabel(label)
    axes[2].set_ylabel(label)
    axes[0].legend()
    fig.suptitle(f"mempin vs floor, io_uring, mlock: {kernel}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def compare(a, b):
    """Prints the relative difference of every figure of two runs."""
    _, ta, ma = read_raw(a)
    _, tb, mb = read_raw(b)

    def key(r):
        return (r["scenario"], r["peer"], r["op"], r["page"], r["range_bytes"], r["n"])
    db = {key(r): r for r in tb}
    worst = []
    print("| scenario | peer | op | page | range | n | run A | run B | diff |")
    print("| --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: |")
    for r in ta:
        o = db.get(key(r))
        x, y = fnum(r["ns_call"]), fnum(o["ns_call"]) if o else None
        if x is None or y is None or x == 0:
            continue
        d = (y - x) / x * 100
        worst.append((abs(d), key(r)))
        print(f"| {r['scenario']} | {r['peer']} | {r['op']} | {r['page']} | "
              f"{size_label(r['range_bytes'])} | {r['n']} | {x:,.1f} | {y:,.1f} | "
              f"{d:+.3f} % |")
    dm = {(r["peer"], r["layout"], r["page"]): r for r in mb}
    for r in ma:
        o = dm.get((r["peer"], r["layout"], r["page"]))
        if o:
            print(f"| mem | {r['peer']} | {r['layout']} | {r['page']} | | | "
                  f"{r['b_per_4k']} B/page | {o['b_per_4k']} B/page | |")
    worst.sort(reverse=True)
    if worst:
        n_in = sum(1 for d, _ in worst if d <= 0.2)
        print(f"\n{len(worst)} figures; {n_in} within 0.2 %; largest difference "
              f"{worst[0][0]:.3f} % ({' '.join(str(x) for x in worst[0][1])}); "
              f"median {sorted(d for d, _ in worst)[len(worst) // 2]:.4f} %")


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        compare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3:
        report(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
