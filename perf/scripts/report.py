#!/usr/bin/python3
"""Writes report.md and its PNG figures from the CSV files of one run-all.sh run.

  report.py DIR

Reads what is there (meta.txt, conditions.csv, content.csv, validation.csv, tcp.csv, pages.csv,
bulk.csv, classes.csv, cachehit.csv, misspath.csv, resources.csv, dns.csv, notes.txt) and skips sections whose data is missing, saying so. Every
figure names the systems, the congestion control and the condition; every comparison of Braid
with a peer is a ratio computed from the same run.
"""
import csv
import math
import os
import sys
from collections import OrderedDict, defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PEERS = ["direct", "nginx", "nginx-cache"]
BRAIDS = ["braid-tcp", "braid-udp"]
SYSTEM_LABEL = {
    "direct": "direct (client to origin)",
    "nginx": "nginx PoP proxy (no cache)",
    "nginx-cache": "nginx PoP proxy_cache",
    "braid-tcp": "Braid (TMP over TCP)",
    "braid-udp": "Braid (TMP over UDP)",
    "origin": "origin nginx (no proxy)",
    "varnish": "Varnish",
}
COLORS = {"direct": "#888888", "nginx": "#1f77b4", "nginx-cache": "#17becf", "braid-tcp": "#d62728",
          "braid-udp": "#ff7f0e", "origin": "#888888", "varnish": "#9467bd"}


def read_csv(d, name):
    p = os.path.join(d, name)
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        return []
    with open(p) as f:
        return list(csv.DictReader(f))


def pct(values, q):
    """Nearest-rank percentile, as PageLoad computes it."""
    v = sorted(values)
    if not v:
        return float("nan")
    i = max(0, min(len(v) - 1, math.ceil(q * len(v)) - 1))
    return v[i]


def cond_text(c, conds):
    row = conds.get(c)
    if not row:
        return c
    return f"RTT {row['rtt_ms']} ms, {row['loss_pct']}% loss, {row['rate_mbps']} Mbit/s"


def fmt(x, digits=0):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.{digits}f}"


def ratio_text(braid, peer, lower_is_better):
    """'1.25x slower' style wording, from Braid's point of view."""
    if not braid or not peer or math.isnan(braid) or math.isnan(peer):
        return "–"
    r = braid / peer
    if lower_is_better:
        return f"{r:.2f} ({'Braid faster' if r < 0.995 else 'Braid slower' if r > 1.005 else 'even'})"
    return f"{r:.2f} ({'Braid ahead' if r > 1.005 else 'Braid behind' if r < 0.995 else 'even'})"


def loopback_table(d, w, weaker, rows, name, what, peers, title):
    """One loopback wrk result: a bar figure, the table, and Braid's ratios to each peer."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    names = [r["system"] for r in rows]
    ax.bar(range(len(rows)), [float(r["requests_per_s"] or 0) for r in rows],
           color=[COLORS.get(n, "#333") for n in names])
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([SYSTEM_LABEL.get(n, n).replace(" (", "\n(") for n in names], fontsize=8)
    ax.set_ylabel("requests/s")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(d, f"{name}.png"), dpi=110)
    plt.close(fig)
    w(f"![{what.lower()}]({name}.png)")
    w("")
    w("| system | requests/s | p50 ms | p99 ms | errors | origin requests | cache headers seen |")
    w("|---|---|---|---|---|---|---|")
    for r in rows:
        w(f"| {SYSTEM_LABEL.get(r['system'], r['system'])} | {r['requests_per_s']} | {r['latency_p50_ms']} | "
          f"{r['latency_p99_ms']} | {r['errors']} | {r['origin_requests']} | {r['cache_header']} |")
    w("")
    for b in BRAIDS:
        braid = next((r for r in rows if r["system"] == b and r["requests_per_s"]), None)
        if not braid:
            continue
        for r in rows:
            if r["system"] not in peers or not r["requests_per_s"]:
                continue
            q = float(braid["requests_per_s"]) / float(r["requests_per_s"])
            line = f"- {SYSTEM_LABEL[b]} / {SYSTEM_LABEL[r['system']]}: {q:.2f} of its requests per second"
            p99b, p99p = braid["latency_p99_ms"], r["latency_p99_ms"]
            if p99b and p99p:
                line += f"; p99 {float(p99b):.2f} ms vs {float(p99p):.2f} ms ({float(p99b) / float(p99p):.2f}x)"
            w(line + ".")
            if q < 0.995:
                weaker.append(f"{what} on loopback: {SYSTEM_LABEL[b]} serves {q:.2f}x the requests/s of "
                              f"{SYSTEM_LABEL[r['system']]} ({float(braid['requests_per_s']):.0f} vs "
                              f"{float(r['requests_per_s']):.0f}).")
            if p99b and p99p and float(p99b) > 1.005 * float(p99p):
                weaker.append(f"{what} on loopback: {SYSTEM_LABEL[b]}'s p99 latency is {float(p99b):.2f} ms, "
                              f"{SYSTEM_LABEL[r['system']]}'s {float(p99p):.2f} ms "
                              f"({float(p99b) / float(p99p):.2f}x).")

def section(w, title, rows, body):
    """A report section: its title, then body(rows), or a line saying the run did not measure it."""
    w(title)
    w("")
    if rows:
        body(rows)
    else:
        w("Not run in this mode.")
        w("")


# The class weights perf/scripts/systems.sh gives Braid (braid_conf): gold 4, bronze 1, per-class
# shares. Peers have no classes: TCP fairness splits a shared bottleneck by connection.
CLASS_WEIGHTS = {"gold": 4, "bronze": 1}
GOLD_P99_TARGET = 1.5  # gold's p99 under bronze's load, at most this times its p99 alone
SHARE_TOLERANCE_PCT = 5.0


def classes_section(d, w, weaker, rows, conds):
    def get(sysname, c, cc, stage, clazz):
        return next((r for r in rows if r["system"] == sysname and r["condition"] == c and r["cc"] == cc
                     and r["stage"] == stage and r["class"] == clazz), None)

    def num(r, k):
        return float(r[k]) if r and r.get(k) not in (None, "") else float("nan")

    expected_gold = 100.0 * CLASS_WEIGHTS["gold"] / sum(CLASS_WEIGHTS.values())
    w("Gold clients (4, a 50 ms pause between requests) fetch a 1 KiB no-store object: every request crosses "
      "the WAN. First alone (10 s); then while bronze clients (4 connections) download a 10 MiB no-store file "
      "again and again, which fills the 100 Mbit/s bottleneck (15 s, after a 3 s ramp); then gold and bronze "
      "both download (2 connections each) and the bytes each class receives over 15 s give its share. Requests "
      "name their class by cookie (`tier=gold`, `tier=bronze`). Braid classifies them (gold ring 0 weight "
      f"{CLASS_WEIGHTS['gold']}, bronze ring 2 weight {CLASS_WEIGHTS['bronze']}, per-class blending: gold's "
      f"share {expected_gold:.0f}% when both wait); nginx and direct TCP have no classes, so their shares "
      "follow TCP fairness. Targets: gold's p99 under load at most "
      f"{GOLD_P99_TARGET}x its p99 alone; Braid's shares within ±{SHARE_TOLERANCE_PCT:.0f} points of the weights.")
    w("")
    keys = list(OrderedDict.fromkeys((r["cc"], r["condition"]) for r in rows))
    systems = [s for s in PEERS + BRAIDS if any(r["system"] == s for r in rows)]
    fig, axes = plt.subplots(len(keys), 2, figsize=(11, 3.8 * len(keys)), squeeze=False)
    for (cc, c), (ax1, ax2) in zip(keys, axes):
        width = 0.38
        xs = range(len(systems))
        alone = [num(get(s, c, cc, "alone", "gold"), "p99_ms") for s in systems]
        loaded = [num(get(s, c, cc, "loaded", "gold"), "p99_ms") for s in systems]
        ax1.bar([x - width / 2 for x in xs], [0 if math.isnan(v) else v for v in alone], width, color="#bbbbbb",
                label="gold p99 alone")
        ax1.bar([x + width / 2 for x in xs], [0 if math.isnan(v) else v for v in loaded], width,
                color=[COLORS[s] for s in systems], label="gold p99 while bronze downloads")
        for x, a in zip(xs, alone):
            if not math.isnan(a):
                ax1.plot([x - 0.45, x + 0.45], [a * GOLD_P99_TARGET] * 2, "k--", lw=1)
        ax1.set_xticks(list(xs))
        ax1.set_xticklabels([SYSTEM_LABEL[s].replace(" (", "\n(") for s in systems], fontsize=7)
        ax1.set_ylabel("ms")
        ax1.set_title(f"Gold p99 latency, {cond_text(c, conds)}, {cc.upper()}\n(dashed: {GOLD_P99_TARGET}x alone)",
                      fontsize=8)
        ax1.legend(fontsize=7)
        gold = [num(get(s, c, cc, "shares", "gold"), "share_pct") for s in systems]
        ax2.bar(list(xs), [0 if math.isnan(v) else v for v in gold], 0.6, color=[COLORS[s] for s in systems],
                label="gold")
        ax2.bar(list(xs), [0 if math.isnan(v) else 100 - v for v in gold], 0.6,
                bottom=[0 if math.isnan(v) else v for v in gold], color="#dddddd", label="bronze")
        ax2.axhline(expected_gold, color="k", ls="--", lw=1, label=f"Braid's weights ({expected_gold:.0f}% gold)")
        ax2.axhline(50, color="k", ls=":", lw=1, label="even split")
        ax2.set_xticks(list(xs))
        ax2.set_xticklabels([SYSTEM_LABEL[s].replace(" (", "\n(") for s in systems], fontsize=7)
        ax2.set_ylim(0, 100)
        ax2.set_ylabel("% of bytes received")
        ax2.set_title(f"Byte shares when both classes download, {cond_text(c, conds)}, {cc.upper()}", fontsize=8)
        ax2.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(d, "classes.png"), dpi=110)
    plt.close(fig)
    w("![two classes](classes.png)")
    w("")
    w("| congestion control | condition | system | gold p50 alone ms | gold p99 alone ms | gold p50 loaded ms | "
      "gold p99 loaded ms | p99 loaded / alone | bronze Mbit/s meanwhile | gold share % | bronze share % | "
      "gold errors |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for cc, c in keys:
        for s in systems:
            a, l, bl = get(s, c, cc, "alone", "gold"), get(s, c, cc, "loaded", "gold"), get(s, c, cc, "loaded", "bronze")
            sg, sb = get(s, c, cc, "shares", "gold"), get(s, c, cc, "shares", "bronze")
            if not a:
                continue
            ratio = num(l, "p99_ms") / num(a, "p99_ms") if l and num(a, "p99_ms") > 0 else float("nan")
            errs = sum(int(r["errors"]) for r in (a, l) if r)
            w(f"| {cc} | {cond_text(c, conds)} | {SYSTEM_LABEL[s]} | {fmt(num(a, 'p50_ms'), 1)} | "
              f"{fmt(num(a, 'p99_ms'), 1)} | {fmt(num(l, 'p50_ms'), 1)} | {fmt(num(l, 'p99_ms'), 1)} | "
              f"{fmt(ratio, 2)} | {fmt(num(bl, 'goodput_mbps'), 1)} | {fmt(num(sg, 'share_pct'), 1)} | "
              f"{fmt(num(sb, 'share_pct'), 1)} | {errs} |")
    w("")
    for cc, c in keys:
        for b in BRAIDS:
            a, l, sg = get(b, c, cc, "alone", "gold"), get(b, c, cc, "loaded", "gold"), get(b, c, cc, "shares", "gold")
            if not a or not l:
                continue
            ratio = num(l, "p99_ms") / num(a, "p99_ms") if num(a, "p99_ms") > 0 else float("nan")
            met = not math.isnan(ratio) and ratio <= GOLD_P99_TARGET
            w(f"- {SYSTEM_LABEL[b]}, {cond_text(c, conds)}, {cc.upper()}: gold p99 under load {fmt(ratio, 2)}x alone "
              f"(target at most {GOLD_P99_TARGET}x: {'met' if met else 'missed'})"
              + (f"; gold's byte share {num(sg, 'share_pct'):.1f}% against {expected_gold:.0f}% by the weights "
                 f"({'within' if abs(num(sg, 'share_pct') - expected_gold) <= SHARE_TOLERANCE_PCT else 'outside'} "
                 f"±{SHARE_TOLERANCE_PCT:.0f} points)" if sg else "") + ".")
            if not met:
                weaker.append(f"Classes, {cond_text(c, conds)}, {cc.upper()}: {SYSTEM_LABEL[b]}'s gold p99 under "
                              f"bronze's load is {fmt(ratio, 2)}x its p99 alone (target {GOLD_P99_TARGET}x).")
            if sg and abs(num(sg, "share_pct") - expected_gold) > SHARE_TOLERANCE_PCT:
                weaker.append(f"Classes, {cond_text(c, conds)}, {cc.upper()}: {SYSTEM_LABEL[b]} gave gold "
                              f"{num(sg, 'share_pct'):.1f}% of the bytes, not {expected_gold:.0f}% "
                              f"±{SHARE_TOLERANCE_PCT:.0f}.")
            for p in PEERS:
                pl = get(p, c, cc, "loaded", "gold")
                if not pl or math.isnan(num(pl, "p99_ms")):
                    continue
                q = num(l, "p99_ms") / num(pl, "p99_ms")
                w(f"  - gold p99 under load / {SYSTEM_LABEL[p]}'s: {ratio_text(num(l, 'p99_ms'), num(pl, 'p99_ms'), True)}")
                if q > 1.005:
                    weaker.append(f"Classes, {cond_text(c, conds)}, {cc.upper()}: {SYSTEM_LABEL[b]}'s gold p99 under "
                                  f"load {num(l, 'p99_ms'):.0f} ms trails {SYSTEM_LABEL[p]}'s "
                                  f"{num(pl, 'p99_ms'):.0f} ms ({q:.2f}x).")
                pb, bb = get(p, c, cc, "loaded", "bronze"), get(b, c, cc, "loaded", "bronze")
                if pb and bb and num(pb, "goodput_mbps") > 0:
                    qb = num(bb, "goodput_mbps") / num(pb, "goodput_mbps")
                    w(f"  - bronze goodput meanwhile / {SYSTEM_LABEL[p]}'s: {ratio_text(num(bb, 'goodput_mbps'), num(pb, 'goodput_mbps'), False)}")
                    if qb < 0.9:
                        weaker.append(f"Classes, {cond_text(c, conds)}, {cc.upper()}: {SYSTEM_LABEL[b]} carried "
                                      f"bronze at {num(bb, 'goodput_mbps'):.1f} Mbit/s beside gold, "
                                      f"{SYSTEM_LABEL[p]} at {num(pb, 'goodput_mbps'):.1f} ({qb:.2f}x).")
    w("")


def resources_section(w, weaker, rows, conds):
    w("CPU time (user + system, every thread and worker process) of each system's own processes during the "
      "measured load, divided by the responses it served; the origin, common to all, is left out (so *direct* "
      "has no row). Peak memory is the sum of the processes' peak resident sets (VmHWM) since they started: "
      "for a JVM it includes the heap it has touched (here -Xms512m -Xmx1g), not only what is live. Page loads "
      "count every response of every load (warm-up included); loopback rows count wrk's measured run only.")
    w("")
    w("| workload | condition | congestion control | system | responses | CPU s | CPU µs per response | "
      "peak RSS MB | processes |")
    w("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        w(f"| {r['workload']} | {cond_text(r['condition'], conds) if r['condition'] != 'loopback' else 'loopback'} | "
          f"{r['cc']} | {SYSTEM_LABEL.get(r['system'], r['system'])} | {r['requests']} | {r['cpu_s']} | "
          f"{r['cpu_us_per_request'] or '–'} | {r['peak_rss_mb']} | {r['processes']} |")
    w("")
    groups = OrderedDict()
    for r in rows:
        groups.setdefault((r["workload"], r["condition"], r["cc"]), []).append(r)
    for (wl, c, cc), rs in groups.items():
        for b in BRAIDS:
            br = next((r for r in rs if r["system"] == b and r["cpu_us_per_request"]), None)
            if not br:
                continue
            for p in rs:
                if p["system"] in BRAIDS or p["system"] == "origin" or not p["cpu_us_per_request"]:
                    continue
                q = float(br["cpu_us_per_request"]) / float(p["cpu_us_per_request"])
                m = float(br["peak_rss_mb"]) / float(p["peak_rss_mb"]) if float(p["peak_rss_mb"]) > 0 else float("nan")
                where = "loopback" if c == "loopback" else f"{cond_text(c, conds)}, {cc.upper()}"
                w(f"- {wl}, {where}: {SYSTEM_LABEL[b]} / {SYSTEM_LABEL[p['system']]}: CPU per response "
                  f"{ratio_text(float(br['cpu_us_per_request']), float(p['cpu_us_per_request']), True)}, peak memory "
                  f"{fmt(m, 1)}x.")
                if q > 1.005:
                    weaker.append(f"CPU per response, {wl}, {where}: {SYSTEM_LABEL[b]} {float(br['cpu_us_per_request']):.0f} µs, "
                                  f"{SYSTEM_LABEL[p['system']]} {float(p['cpu_us_per_request']):.0f} µs ({q:.2f}x).")
                if not math.isnan(m) and m > 1.005:
                    weaker.append(f"Peak memory, {wl}, {where}: {SYSTEM_LABEL[b]} {float(br['peak_rss_mb']):.0f} MB, "
                                  f"{SYSTEM_LABEL[p['system']]} {float(p['peak_rss_mb']):.0f} MB ({m:.1f}x).")
    w("")


DNS_SELECTION_TARGET = 100_000


def dns_section(w, weaker, rows):
    def mean(kind, server, key):
        v = [float(r[key]) for r in rows if r["kind"] == kind and r["server"] == server and r[key] != ""]
        return sum(v) / len(v) if v else float("nan")

    r0 = rows[0]
    w(f"dnsperf ({r0['seconds']} s per run, two rounds alternating servers, after a warm-up of the redirector's "
      f"compiler) against NSD and the Braid redirector on 127.0.0.1, each with {r0['loops']} server "
      f"process/event loop ({r0['transport']}). *static*: explicit zone records, a CNAME and an NXDOMAIN; "
      "*selection*: site names, which the redirector answers by choosing front-ends (NSD answers them from its "
      "zone, so for it both kinds are static). CPU per query is the server's own (all its threads), robust where "
      "queries per second follow the neighbours' load. Targets: static at least NSD's rate; selection at least "
      f"{DNS_SELECTION_TARGET:,} queries per second.")
    w("")
    w("| kind | NSD q/s | Braid q/s | Braid / NSD | NSD CPU µs/query | Braid CPU µs/query | NSD / Braid CPU | "
      "dnsperf CPU µs/query (Braid runs) |")
    w("|---|---|---|---|---|---|---|---|")
    for kind, label in (("static", "static"), ("site", "selection")):
        nq, bq = mean(kind, "nsd", "queries_per_s"), mean(kind, "braid", "queries_per_s")
        nc, bc = mean(kind, "nsd", "server_cpu_us_per_query"), mean(kind, "braid", "server_cpu_us_per_query")
        dp = mean(kind, "braid", "dnsperf_cpu_us_per_query")
        if math.isnan(nq) and math.isnan(bq):
            continue
        w(f"| {label} | {fmt(nq)} | {fmt(bq)} | {fmt(bq / nq if nq else float('nan'), 2)} | {fmt(nc, 2)} | "
          f"{fmt(bc, 2)} | {fmt(nc / bc if bc else float('nan'), 2)} | {fmt(dp, 2)} |")
        if nq and bq / nq < 0.995:
            weaker.append(f"DNS, {label}: the redirector answered {bq:.0f} q/s, NSD {nq:.0f} ({bq / nq:.2f}x).")
        if kind == "site" and bq < DNS_SELECTION_TARGET:
            weaker.append(f"DNS, selection: {bq:.0f} q/s, under the {DNS_SELECTION_TARGET:,} target.")
    w("")



def main(d):
    meta = OrderedDict()
    if os.path.exists(os.path.join(d, "meta.txt")):
        for line in open(os.path.join(d, "meta.txt")):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                if k == "duration_s" and k in meta:  # a run added to later: total time
                    v = str(int(meta[k]) + int(v))
                meta[k] = v
    conds = {r["condition"]: r for r in read_csv(d, "conditions.csv")}
    content = read_csv(d, "content.csv")
    page_bytes = sum(int(r["bytes"]) for r in content)
    html_bytes = sum(int(r["bytes"]) for r in content if r["name"].endswith(".html"))
    notes = [l.strip() for l in open(os.path.join(d, "notes.txt"))] if os.path.exists(os.path.join(d, "notes.txt")) else []
    out = []
    w = out.append
    weaker = []
    summary = []

    w(f"# Braid side-by-side benchmark, {meta.get('date', '?')}")
    w("")
    w(f"Mode **{meta.get('mode', '?')}**, commit `{meta.get('commit', '?')}`, kernel {meta.get('kernel', '?')}, "
      f"{meta.get('cpus', '?')} CPUs ({meta.get('cpu_model', '?')}), run time {meta.get('duration_s', '?')} s. "
      f"{meta.get('java', '')}; nginx {meta.get('nginx', '')}; {meta.get('varnish', '')}; {meta.get('iperf3', '')}; "
      f"{meta.get('wrk', '')}. Load average of the (shared) machine: {meta.get('loadavg_start', '?')} at the "
      f"start, {meta.get('loadavg_end', '?')} at the end; the emulator runs at real-time priority, the systems "
      f"under test and the load generators do not, so a busy machine slows all of them alike but adds noise.")
    w("")
    w("Topology: client namespace, fast veth to the point of presence (PoP) namespace, emulated WAN "
      "(user-space emulator over TUN) to the origin namespace. *direct* crosses the same emulator "
      "(client → PoP router → WAN → origin). See docs/perf.md.")
    w("")
    if content:
        w(f"Page: one HTML of {html_bytes} bytes and {len(content) - 1} objects, {page_bytes} bytes in all "
          f"(objects from {min(int(r['bytes']) for r in content if r['name'] != 'index.html')} to "
          f"{max(int(r['bytes']) for r in content)} bytes, heavy-tailed). Bodies are random bytes (incompressible).")
        w("")
    if notes:
        w("Notes:")
        for n in notes:
            w(f"- {n}")
        w("")

    # ---------- validation ----------
    val = read_csv(d, "validation.csv")
    w("## 1. WAN emulator validation")
    w("")
    if val:
        w("Measured through the emulator from the client namespace (ping; iperf3 with -R, so the origin sends). "
          "Pass: within the tolerance of the setting.")
        w("")
        w("| check | condition | expected | measured | deviation | tolerance | pass | how |")
        w("|---|---|---|---|---|---|---|---|")
        for r in val:
            w(f"| {r['check']} | {r['condition']} | {r['expected']} {r['unit']} | {r['measured']} {r['unit']} | "
              f"{r['deviation_pct']}% | ±{r['tolerance_pct']}% | {r['pass']} | {r['detail']} |")
        failed = [r for r in val if r["pass"] == "no"]
        w("")
        w(f"**{len(val) - len(failed)} of {len(val)} checks within tolerance.**" +
          ("" if not failed else " Outside: " + ", ".join(f"{r['check']} ({r['condition']})" for r in failed) + "."))
    else:
        w("No validation data.")
    w("")

    # ---------- TCP baselines ----------
    tcp = read_csv(d, "tcp.csv")
    w("## 2. Kernel TCP baselines (iperf3, one flow, origin → client)")
    w("")
    if tcp:
        cs = list(OrderedDict.fromkeys(r["condition"] for r in tcp))
        ccs = list(OrderedDict.fromkeys(r["cc"] for r in tcp))
        fig, ax = plt.subplots(figsize=(8, 4))
        width = 0.8 / len(ccs)
        for j, cc in enumerate(ccs):
            ys = [next((float(r["goodput_mbps"]) for r in tcp if r["condition"] == c and r["cc"] == cc), 0) for c in cs]
            ax.bar([i + j * width for i in range(len(cs))], ys, width, label=f"kernel TCP, {cc.upper()}")
        ax.axhline(96.53, color="k", ls="--", lw=1, label="limit: 100 Mbit/s x 1448/1500")
        ax.set_xticks([i + width * (len(ccs) - 1) / 2 for i in range(len(cs))])
        ax.set_xticklabels([cond_text(c, conds).replace(", ", "\n") for c in cs], fontsize=8)
        ax.set_ylabel("goodput, Mbit/s (whole 20 s, incl. slow start)")
        ax.set_title("Kernel TCP single flow (iperf3 -C bbr|cubic) across the emulated WAN")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(d, "tcp.png"), dpi=110)
        plt.close(fig)
        w("![kernel TCP goodput](tcp.png)")
        w("")
        w("| condition | congestion control | goodput (whole test) | goodput (steady, after 1 s) | retransmits |")
        w("|---|---|---|---|---|")
        for r in tcp:
            w(f"| {cond_text(r['condition'], conds)} | {r['cc']} | {r['goodput_mbps']} Mbit/s | "
              f"{r['goodput_steady_mbps']} Mbit/s | {r['retransmits']} |")
    else:
        w("Not run in this mode.")
    w("")

    # ---------- page loads ----------
    pages = read_csv(d, "pages.csv")
    w("## 3. Page loads across the WAN")
    w("")
    if pages:
        w(f"Each simulated browser loads the page with fresh connections (the HTML, then {len(content) - 1 if content else '?'} "
          "objects over six keep-alive connections), one page after another after one unmeasured warm-up load. "
          "Page-load time (PLT) runs from the first connect to the last byte. "
          "**Limit** (dashed): one WAN round trip plus the page's bytes at the bottleneck rate — the best any system "
          "can do when everything comes from the origin. **Limit, cached** (dotted): one round trip plus the HTML "
          "only — the best when the objects are cached at the PoP (the HTML is never cacheable here).")
        w("")
        groups = defaultdict(list)
        errors = defaultdict(int)
        for r in pages:
            key = (r["cc"], r["condition"], r["system"])
            if r["ok"] == "1":
                groups[key].append(float(r["plt_ms"]))
            else:
                errors[key] += 1
        ccs = list(OrderedDict.fromkeys(r["cc"] for r in pages))
        cs = list(OrderedDict.fromkeys(r["condition"] for r in pages))
        systems = [s for s in PEERS + BRAIDS if any(k[2] == s for k in list(groups) + list(errors))]
        for cc in ccs:
            ccs_conds = [c for c in cs if any(k[0] == cc and k[1] == c for k in groups)]
            if not ccs_conds:
                continue
            fig, axes = plt.subplots(1, len(ccs_conds), figsize=(max(6.5, 4.2 * len(ccs_conds)), 4.4), squeeze=False)
            for ax, c in zip(axes[0], ccs_conds):
                row = conds.get(c, {})
                rtt = float(row.get("rtt_ms", 0) or 0)
                rate = float(row.get("rate_mbps", 100) or 100)
                sys_here = [s for s in systems if groups.get((cc, c, s))]
                for i, s in enumerate(sys_here):
                    v = groups[(cc, c, s)]
                    p50, p95, p99 = pct(v, .5), pct(v, .95), pct(v, .99)
                    ax.bar(i, p50, color=COLORS[s], alpha=0.85)
                    ax.errorbar(i, p50, yerr=[[0], [p95 - p50]], color="k", capsize=4, lw=1)
                    ax.plot([i], [p99], marker="x", color="k")
                if page_bytes:
                    limit = rtt + page_bytes * 8 / (rate * 1e6) * 1000
                    ax.axhline(limit, color="k", ls="--", lw=1, label=f"limit {limit:.0f} ms")
                    climit = rtt + html_bytes * 8 / (rate * 1e6) * 1000
                    ax.axhline(climit, color="k", ls=":", lw=1, label=f"limit, cached {climit:.0f} ms")
                ax.set_xticks(range(len(sys_here)))
                ax.set_xticklabels([SYSTEM_LABEL[s].replace(" (", "\n(") for s in sys_here], fontsize=7, rotation=20)
                ax.set_title(f"{cond_text(c, conds)}\ncongestion control: {cc.upper()}", fontsize=9)
                ax.set_ylabel("page-load time, ms (bar p50, whisker p95, x p99)", fontsize=8)
                ax.legend(fontsize=7)
            fig.suptitle("Page loads: direct vs nginx (PoP, with/without proxy_cache) vs Braid", fontsize=10)
            fig.tight_layout()
            name = f"pages-{cc}.png"
            fig.savefig(os.path.join(d, name), dpi=110)
            plt.close(fig)
            w(f"![page loads, {cc}]({name})")
            w("")
        planned = max(len(v) + errors.get(k, 0) for k, v in groups.items()) if groups else 0
        short = sorted({k for k in set(groups) | set(errors) if len(groups.get(k, [])) + errors.get(k, 0) < planned})
        if short:
            w(f"**Cut short by the time limit:** " + "; ".join(
                f"{SYSTEM_LABEL[k[2]]} under {k[0].upper()}, {cond_text(k[1], conds)}: "
                f"{len(groups.get(k, [])) + errors.get(k, 0)} of {planned} loads" for k in short)
              + ". Their percentiles cover only the loads that started in time, which flatters them.")
            w("")
            for k in short:
                if k[2] in BRAIDS:
                    weaker.append(f"Page loads, {cond_text(k[1], conds)}, {k[0].upper()}: {SYSTEM_LABEL[k[2]]} finished "
                                  f"only {len(groups.get(k, []))} of {planned} page loads within the time limit.")
        w("| congestion control | condition | system | pages ok | failed | p50 ms | p95 ms | p99 ms | limit ms |")
        w("|---|---|---|---|---|---|---|---|---|")
        for cc in ccs:
            for c in cs:
                row = conds.get(c, {})
                rtt = float(row.get("rtt_ms", 0) or 0)
                rate = float(row.get("rate_mbps", 100) or 100)
                limit = rtt + page_bytes * 8 / (rate * 1e6) * 1000 if page_bytes else float("nan")
                for s in systems:
                    v = groups.get((cc, c, s), [])
                    if not v and not errors.get((cc, c, s)):
                        continue
                    w(f"| {cc} | {cond_text(c, conds)} | {SYSTEM_LABEL[s]} | {len(v)} | {errors.get((cc, c, s), 0)} | "
                      f"{fmt(pct(v, .5))} | {fmt(pct(v, .95))} | {fmt(pct(v, .99))} | {fmt(limit)} |")
        w("")
        # Where a load's time goes: the HTML (connect to its last byte; it crosses the WAN on every
        # load) and the objects after it (from the PoP's cache once warm). Older runs lack html_ms.
        split = defaultdict(lambda: ([], []))
        for r in pages:
            if r["ok"] == "1" and r.get("html_ms"):
                html, objs = split[(r["cc"], r["condition"], r["system"])]
                html.append(float(r["html_ms"]))
                objs.append(float(r["plt_ms"]) - float(r["html_ms"]))
        if split:
            w("Where the time goes, per load: the HTML (connect to its last byte) and the objects after it.")
            w("")
            w("| congestion control | condition | system | HTML p50 ms | HTML p95 ms | objects p50 ms | objects p95 ms |")
            w("|---|---|---|---|---|---|---|")
            for cc in ccs:
                for c in cs:
                    for s in systems:
                        if (cc, c, s) not in split:
                            continue
                        html, objs = split[(cc, c, s)]
                        w(f"| {cc} | {cond_text(c, conds)} | {SYSTEM_LABEL[s]} | {fmt(pct(html, .5))} | "
                          f"{fmt(pct(html, .95))} | {fmt(pct(objs, .5))} | {fmt(pct(objs, .95))} |")
            w("")
        for cc in ccs:
            for c in cs:
                for b in BRAIDS:
                    bv = groups.get((cc, c, b))
                    if bv:
                        cells = []
                        for p in PEERS:
                            pv = groups.get((cc, c, p))
                            cells.append(f"{pct(bv, .5) / pct(pv, .5):.2f}" if pv else "–")
                        summary.append(f"| {cond_text(c, conds)} | {cc.upper()} | {SYSTEM_LABEL[b]} | {fmt(pct(bv, .5))} ms | "
                                       + " | ".join(cells) + " |")
        w("Ratios, Braid's page-load time over each peer's, same run (below 1: Braid faster):")
        w("")
        w("| congestion control | condition | Braid | peer | p50 ratio | p95 ratio | p99 ratio |")
        w("|---|---|---|---|---|---|---|")
        for cc in ccs:
            for c in cs:
                for b in BRAIDS:
                    bv = groups.get((cc, c, b))
                    if not bv:
                        continue
                    for p in PEERS:
                        pv = groups.get((cc, c, p))
                        if not pv:
                            continue
                        r50 = pct(bv, .5) / pct(pv, .5)
                        w(f"| {cc} | {cond_text(c, conds)} | {b} | {p} | {ratio_text(pct(bv, .5), pct(pv, .5), True)} | "
                          f"{ratio_text(pct(bv, .95), pct(pv, .95), True)} | {ratio_text(pct(bv, .99), pct(pv, .99), True)} |")
                        if r50 > 1.005:
                            weaker.append(f"Page loads, {cond_text(c, conds)}, {cc.upper()}: {SYSTEM_LABEL[b]} trails "
                                          f"{SYSTEM_LABEL[p]} at the median: {pct(bv, .5):.0f} ms vs {pct(pv, .5):.0f} ms "
                                          f"({r50:.2f}x).")
                    if errors.get((cc, c, b)):
                        weaker.append(f"Page loads, {cond_text(c, conds)}, {cc.upper()}: {errors[(cc, c, b)]} "
                                      f"{SYSTEM_LABEL[b]} page loads failed.")
        w("")
    else:
        w("No page-load data.")
        w("")

    # ---------- bulk ----------
    bulk = read_csv(d, "bulk.csv")
    for r in bulk:  # goodput from its parts: bytes received over the transfer's time
        secs = float(r["seconds"] or 0)
        r["goodput_mbps"] = f"{int(r['bytes'] or 0) * 8 / secs / 1e6:.3f}" if secs > 0 else "0"
    w("## 4. Bulk download goodput (10 MiB, one connection, at most 25 s)")
    w("")
    if bulk:
        ccs = list(OrderedDict.fromkeys(r["cc"] for r in bulk))
        cs = list(OrderedDict.fromkeys(r["condition"] for r in bulk))
        systems = [s for s in PEERS + BRAIDS if any(r["system"] == s for r in bulk)]
        fig, axes = plt.subplots(1, len(ccs), figsize=(6 * len(ccs), 4), squeeze=False)
        for ax, cc in zip(axes[0], ccs):
            width = 0.8 / len(systems)
            for j, s in enumerate(systems):
                ys = [next((float(r["goodput_mbps"]) for r in bulk if r["cc"] == cc and r["condition"] == c
                            and r["system"] == s), 0) for c in cs]
                ax.bar([i + j * width for i in range(len(cs))], ys, width, color=COLORS[s], label=SYSTEM_LABEL[s])
            ax.axhline(96.53, color="k", ls="--", lw=1, label="limit (100 Mbit/s x 1448/1500)")
            ax.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(cs))])
            ax.set_xticklabels([cond_text(c, conds).replace(", ", "\n") for c in cs], fontsize=7)
            ax.set_ylabel("goodput, Mbit/s")
            ax.set_title(f"Bulk download through each system; congestion control {cc.upper()}", fontsize=9)
            ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(d, "bulk.png"), dpi=110)
        plt.close(fig)
        w("![bulk goodput](bulk.png)")
        w("")
        w("| congestion control | condition | system | goodput Mbit/s | complete | Braid (UDP) / system | Braid (TCP) / system |")
        w("|---|---|---|---|---|---|---|")
        for cc in ccs:
            for c in cs:
                bts = {b: next((float(r["goodput_mbps"]) for r in bulk if r["cc"] == cc and r["condition"] == c
                                and r["system"] == b), None) for b in BRAIDS}
                for s in systems:
                    r = next((r for r in bulk if r["cc"] == cc and r["condition"] == c and r["system"] == s), None)
                    if not r:
                        continue
                    g = float(r["goodput_mbps"])
                    cells = [ratio_text(bts[b], g, False) if bts[b] is not None and s not in BRAIDS else ""
                             for b in ("braid-udp", "braid-tcp")]
                    w(f"| {cc} | {cond_text(c, conds)} | {SYSTEM_LABEL[s]} | {g:.1f} | "
                      f"{'yes' if r['complete'] == '1' else 'no (time limit)'} | {cells[0]} | {cells[1]} |")
                    for b, bt in bts.items():
                        if bt is not None and s not in BRAIDS and g > 0 and bt / g < 0.995:
                            weaker.append(f"Bulk, {cond_text(c, conds)}, {cc.upper()}: {SYSTEM_LABEL[b]} {bt:.1f} "
                                          f"Mbit/s trails {SYSTEM_LABEL[s]} {g:.1f} Mbit/s ({bt / g:.2f}x).")
        w("")
    else:
        w("Not run in this mode.")
        w("")

    # ---------- two client classes ----------
    section(w, "## 5. Two client classes across the WAN (gold interactive, bronze downloads)",
            read_csv(d, "classes.csv"), lambda rows: classes_section(d, w, weaker, rows, conds))

    # ---------- cache hits and the miss path ----------
    hits = read_csv(d, "cachehit.csv")
    w("## 6. Cache hits on loopback (wrk, 1 KiB object, 100 connections, 10 s)")
    w("")
    if hits:
        w("All in one namespace on 127.0.0.1, sharing the machine's CPUs with wrk (2 threads); every system "
          "gets the same warm-up (15 s of the same load; Braid's hit path also after its miss-path run) before "
          "its measured 10 s. *origin requests* counts "
          "what reached the origin during the measured run: a cache that hits sends none.")
        w("")
        loopback_table(d, w, weaker, hits, "cachehit", "Cache hits", ("nginx-cache", "varnish"),
                       "Cache hits, 1 KiB, 100 connections, loopback (no WAN)")
        for r in hits:
            if r["system"] in BRAIDS and r["origin_requests"] and int(r["origin_requests"]) > 0:
                w(f"- {SYSTEM_LABEL[r['system']]} sent {r['origin_requests']} requests to the origin during its "
                  "test: its front-end did not answer them from its cache (the cache header shows what it said).")
                weaker.append(f"Cache hits: {SYSTEM_LABEL[r['system']]} sent {r['origin_requests']} of its "
                              "requests to the origin.")
        w("")
    else:
        w("Not run in this mode.")
        w("")

    misses = read_csv(d, "misspath.csv")
    w("## 7. Miss path on loopback (wrk, 1 KiB uncacheable object, 100 connections, 10 s)")
    w("")
    if misses:
        w("Every request crosses the whole chain: nginx at the PoP → keep-alive upstream → origin nginx, or "
          "Braid front-end → TMP link → back-end → pooled origin connection → origin nginx. Same namespace and "
          "wrk load as the cache-hit test; every system gets 40 s of the same load as warm-up (a JVM's "
          "compiler needs about 35 s of it on this machine to be done with the path).")
        w("")
        loopback_table(d, w, weaker, misses, "misspath", "Miss path", ("nginx",),
                       "Miss path, 1 KiB no-store, 100 connections, loopback (no WAN)")
        w("")
    else:
        w("Not run in this mode.")
        w("")

    section(w, "## 8. CPU and memory per request", read_csv(d, "resources.csv"),
            lambda rows: resources_section(w, weaker, rows, conds))

    section(w, "## 9. DNS: the redirector beside NSD (dnsperf, loopback)", read_csv(d, "dns.csv"),
            lambda rows: dns_section(w, weaker, rows))

    w("## Where Braid is weaker")
    w("")
    if weaker:
        for line in weaker:
            w(f"- {line}")
    else:
        w("- Nowhere in what this run measured.")
    w("")
    w("Raw data: the CSV files beside this report (pages.csv has every page load); raw/ holds tool output and logs.")
    if summary:
        at = out.index("## 1. WAN emulator validation")
        head = ["## Summary", "",
                "Median page-load time of Braid, and its ratio to each peer's median in the same run "
                "(below 1: Braid faster; above 1: Braid slower):", "",
                "| condition | congestion control | system | p50 | / direct | / nginx | / nginx proxy_cache |",
                "|---|---|---|---|---|---|---|"] + summary + ["",
                f"{len(weaker)} comparisons in which Braid trails a peer are listed under "
                "[Where Braid is weaker](#where-braid-is-weaker).", ""]
        out[at:at] = head
    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: report.py DIR")
    main(sys.argv[1])
