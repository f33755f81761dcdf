#!/usr/bin/python3
"""Writes the origin's static content for the benchmarks into DIR (deterministic: same bytes
every run).

  page/index.html     the page: about 20 KB of HTML referencing 30 objects
  page/obj-NN.bin     the 30 objects, 2 KB to 500 KB, heavy-tailed (bounded Pareto, alpha 1)
  bulk/10m.bin        10 MiB for the bulk-download goodput test
  hit/1k.bin          1 KiB for the cache-hit test

Bodies are random bytes, so compression gains nothing anywhere (a real page's HTML, CSS and
scripts would compress; its images would not). Prints the page's object sizes as CSV to stdout.
"""
import os
import random
import sys

OBJECTS = 30
LOW, HIGH, ALPHA = 2048, 512000, 1.0


def sizes():
    """Deterministic bounded-Pareto quantiles: a few large objects, many small ones."""
    out = []
    for i in range(OBJECTS):
        u = i / (OBJECTS - 1)  # from the smallest (2 KB) to the largest (500 KB) inclusive
        x = LOW / (1 - u * (1 - (LOW / HIGH) ** ALPHA)) ** (1 / ALPHA)
        out.append(int(x))
    random.Random(7).shuffle(out)  # document order is not size order
    return out


def main(root):
    rnd = random.Random(42)
    os.makedirs(f"{root}/page", exist_ok=True)
    os.makedirs(f"{root}/bulk", exist_ok=True)
    os.makedirs(f"{root}/hit", exist_ok=True)
    refs = []
    for i, n in enumerate(sizes(), 1):
        name = f"obj-{i:02d}.bin"
        with open(f"{root}/page/{name}", "wb") as f:
            f.write(rnd.randbytes(n))
        refs.append((name, n))
    filler = " ".join("lorem%04d" % rnd.randrange(10000) for _ in range(1800))
    body = "\n".join(f'<img src="/page/{name}" alt="{n} bytes">' for name, n in refs)
    html = (f"<!doctype html>\n<html><head><title>bench page</title></head><body>\n"
            f"<p>{filler}</p>\n{body}\n</body></html>\n")
    with open(f"{root}/page/index.html", "w") as f:
        f.write(html)
    with open(f"{root}/bulk/10m.bin", "wb") as f:
        f.write(rnd.randbytes(10 * 1024 * 1024))
    with open(f"{root}/hit/1k.bin", "wb") as f:
        f.write(rnd.randbytes(1024))
    print("name,bytes")
    print(f"index.html,{len(html.encode())}")
    for name, n in refs:
        print(f"{name},{n}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: content.py DIR")
    main(sys.argv[1])
