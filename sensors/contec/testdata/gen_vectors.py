#!/usr/bin/env python3
"""Writes packets.txt: CMS50D+ live-data packets built independently of the
Go code, field by field from the byte layouts in docs/devices.md.

Line format:
  old|new pleth pr spo2 strength bar wave2 fingerout searching beat probeerr dropping | packet hex
(fields a protocol does not carry are written as 0)
Run: python3 gen_vectors.py > packets.txt"""
import random

def old(pleth, pr, spo2, strength, bar, finger, search, beat, probe, drop):
    b0 = 0x80 | strength | (0x10 if finger else 0) | (0x20 if drop else 0) | (0x40 if beat else 0)
    b2 = bar | (0x10 if probe else 0) | (0x20 if search else 0) | ((pr >> 7) << 6)
    return bytes([b0, pleth, b2, pr & 0x7F, spo2])

def new(pleth, pr, spo2, strength, wave2, finger, search, beat):
    b1 = 0xE0 | (1 if finger else 0) | (2 if search else 0)
    b2 = 0x80 | (0x40 if beat else 0) | strength
    return bytes([0x01, b1, b2, 0x80 | pleth, 0x80 | wave2, 0x80 | pr, 0x80 | spo2, 0xFF, 0xFF])

def main():
    rnd = random.Random(50)
    b = lambda: rnd.random() < 0.3
    for _ in range(12):
        f = dict(pleth=rnd.randrange(128), pr=rnd.randrange(256), spo2=rnd.randrange(128), strength=rnd.randrange(16),
                 bar=rnd.randrange(16), finger=b(), search=b(), beat=b(), probe=b(), drop=b())
        p = old(**f)
        print("old", f["pleth"], f["pr"], f["spo2"], f["strength"], f["bar"], 0, int(f["finger"]), int(f["search"]),
              int(f["beat"]), int(f["probe"]), int(f["drop"]), "|", p.hex(" "))
    for _ in range(12):
        f = dict(pleth=rnd.randrange(128), pr=rnd.randrange(128), spo2=rnd.randrange(128), strength=rnd.randrange(16),
                 wave2=rnd.randrange(128), finger=b(), search=b(), beat=b())
        p = new(**f)
        print("new", f["pleth"], f["pr"], f["spo2"], f["strength"], 0, f["wave2"], int(f["finger"]), int(f["search"]),
              int(f["beat"]), 0, 0, "|", p.hex(" "))

main()
