#!/usr/bin/python3
"""Turns raw measurement output (iperf3 JSON, ping text, wanem counters) into CSV fields.

Used by the perf shell scripts, one subcommand per kind of input; each prints one line of
comma-separated values in the order its --help states. Only the Python standard library.
"""
import json
import math
import re
import statistics
import sys


def iperf_rate(path, skip=1):
    """Receiver goodput in Mbit/s from iperf3 --json run with -R (the client receives): the mean
    of the per-second intervals after the first `skip` (slow start, the first round trip) and
    before the last (a partial interval)."""
    d = json.load(open(path))
    if 'error' in d:
        raise SystemExit(f"{path}: iperf3 error: {d['error']}")
    rates = [iv['sum']['bits_per_second'] / 1e6 for iv in d['intervals']
             if iv['sum']['seconds'] > 0.5 and not iv['sum'].get('omitted')]
    body = rates[skip:-1] if len(rates) > skip + 1 else rates
    end = d['end']
    whole = (end.get('sum_received') or end.get('sum'))['bits_per_second'] / 1e6
    return statistics.mean(body), whole


def iperf_udp(path):
    """mean Mbit/s (middle intervals), whole-test Mbit/s, packets, lost, loss %, out of order"""
    d = json.load(open(path))
    mid, whole = iperf_rate(path)
    s = d['end']['sum']
    ooo = sum(st['udp'].get('out_of_order', 0) for st in d['end']['streams'])
    return [f"{mid:.3f}", f"{whole:.3f}", s['packets'], s['lost_packets'],
            f"{100.0 * s['lost_packets'] / max(1, s['packets']):.4f}", ooo]


def iperf_tcp(path):
    """mean Mbit/s (middle intervals), whole-test Mbit/s, retransmits, congestion control"""
    d = json.load(open(path))
    mid, whole = iperf_rate(path)
    end = d['end']
    retr = end.get('sum_sent', {}).get('retransmits', '')
    cc = end.get('receiver_tcp_congestion') or end.get('sender_tcp_congestion') or ''
    return [f"{mid:.3f}", f"{whole:.3f}", retr, cc]


def ping(path):
    """sent, received, loss %, mean RTT ms, stddev ms, min, max"""
    rtts = []
    sent = recv = 0
    for line in open(path):
        m = re.search(r'time=([0-9.]+) ms', line)
        if m:
            rtts.append(float(m.group(1)))
        m = re.search(r'(\d+) packets transmitted, (\d+) received', line)
        if m:
            sent, recv = int(m.group(1)), int(m.group(2))
    if not rtts:
        raise SystemExit(f"{path}: no replies")
    sd = statistics.pstdev(rtts)
    return [sent, recv, f"{100.0 * (sent - recv) / max(1, sent):.3f}", f"{statistics.mean(rtts):.3f}",
            f"{sd:.3f}", f"{min(rtts):.3f}", f"{max(rtts):.3f}"]


def wanem(path, direction):
    """rx packets, dropped by random loss, by burst loss, by the queue, reordered (last dump)"""
    line = [l for l in open(path) if l.startswith(f"wanem dir={direction} ")][-1]
    kv = dict(p.split('=', 1) for p in line.split()[1:])
    return [kv['rx_pkts'], kv['drop_loss'], kv['drop_burst'], kv['drop_queue'], kv['reordered']]


def binom_ci(k, n):
    """95% Wilson interval of a proportion, in percent: low, high"""
    k, n = int(k), int(n)
    if n == 0:
        return ['', '']
    z = 1.96
    p = k / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return [f"{100 * (c - h):.4f}", f"{100 * (c + h):.4f}"]


if __name__ == '__main__':
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {'iperf-udp': iperf_udp, 'iperf-tcp': iperf_tcp, 'ping': ping, 'wanem': wanem,
          'binom-ci': binom_ci}.get(cmd)
    if fn is None:
        raise SystemExit(f"measure.py: {cmd}: unknown (expected: iperf-udp, iperf-tcp, ping, wanem, binom-ci)")
    print(','.join(str(x) for x in fn(*args)))
