#!/usr/bin/env python3
"""Writes vectors.txt: Shimmer3 link CRCs and GSR/PPG conversions computed
independently of the Go code, straight from the formulas in docs/devices.md.

Line formats:
  crc <message hex> | <crc low> <crc high>
  gsr <setting: auto|0..3> <raw field> | <µS>
  ppg <raw field> | <mV>
Run: python3 gen_vectors.py > vectors.txt"""
import random

def crc16(msg):
    crc = 0xB0CA
    data = list(msg) + ([0] if len(msg) % 2 else [])
    for b in data:
        crc = ((crc >> 8) | (crc << 8)) & 0xFFFF
        crc ^= b
        crc ^= (crc & 0xFF) >> 4
        crc = (crc ^ (crc << 12)) & 0xFFFF
        crc = (crc ^ ((crc & 0xFF) << 5)) & 0xFFFF
    return crc

REF = [40.2, 287.0, 1000.0, 3300.0]
LIMITS = [(8, 63), (63, 220), (220, 680), (680, 4700)]

def gsr_us(raw, setting):
    adc = raw & 0x0FFF
    rng = (raw & 0xC000) >> 14 if setting == "auto" else int(setting)
    if rng == 3 and adc < 683:
        adc = 683
    v = adc * 3.0 / 4095
    k = v / 0.5 - 1
    r = REF[rng] / k if k > 0 else float("inf")  # at or below 0.5 V: open circuit
    lo, hi = LIMITS[rng]
    r = min(max(r, lo), hi)
    return 1000.0 / r

def main():
    rnd = random.Random(5150)
    msgs = [bytes(18), bytes.fromhex("00b6f8bbff800001800001ff800001800001"), b"\xff", b"\xff\x02"]
    for n in list(range(1, 12)) + [17, 18, 40]:
        msgs.append(bytes(rnd.randrange(256) for _ in range(n)))
    for m in msgs:
        c = crc16(m)
        print("crc", m.hex(), "|", "%02x %02x" % (c & 0xFF, c >> 8))
    raws = [0, 682, 683, 700, 1000, 1500, 2048, 3000, 3500, 4000, 4095]
    for setting in ["0", "1", "2", "3"]:
        for adc in raws:
            print("gsr", setting, adc, "|", repr(gsr_us(adc, setting)))
        print("gsr", setting, 0xC000 | 2048, "|", repr(gsr_us(0xC000 | 2048, setting)))
    for _ in range(24):
        raw = rnd.randrange(4) << 14 | rnd.randrange(4096)
        print("gsr auto", raw, "|", repr(gsr_us(raw, "auto")))
    for raw in [0, 1, 0x0726, 2048, 4095]:
        print("ppg", raw, "|", repr(raw * 3000 / 4095))

main()
