#!/usr/bin/env python3
"""Writes frames.txt: BITalino frames built independently of the Go code,
bit by bit from the field layout in docs/devices.md, with the CRC computed
bitwise (x^4+x+1, init 0, CRC nibble taken as 0).

Line format: n seq digital adc1..adcn | frame bytes in hex
Run: python3 gen_vectors.py > frames.txt"""
import random

LENS = {1: 3, 2: 4, 3: 6, 4: 7, 5: 8, 6: 8}
WIDTH = [10, 10, 10, 10, 6, 6]

def crc4(frame):
    x = 0
    data = list(frame)
    data[-1] &= 0xF0
    for byte in data:
        for bit in range(7, -1, -1):
            x <<= 1
            if x & 0x10:
                x ^= 0x03
            x ^= (byte >> bit) & 1
    return x & 0x0F

def encode(n, seq, dig, adc):
    # Read from the last byte backwards, the frame is one MSB-first bit
    # string: seq(4) crc(4) digital(4) A0(10) A1(10) A2(10) A3(10) A4(6)
    # A5(6), zero-padded (this is what the b[-k] formulas in devices.md say).
    L = LENS[n]
    bits = []
    def put(value, width):
        bits.extend((value >> i) & 1 for i in range(width - 1, -1, -1))
    put(seq, 4)
    put(0, 4)
    put(dig, 4)
    for k in range(n):
        put(adc[k], WIDTH[k])
    assert len(bits) <= 8 * L
    bits += [0] * (8 * L - len(bits))
    rev = bytearray(int("".join(map(str, bits[8 * i:8 * i + 8])), 2) for i in range(L))
    frame = bytearray(reversed(rev))
    frame[-1] |= crc4(frame)
    return bytes(frame)

def main():
    rnd = random.Random(20240601)
    rows = [(1, 5, 0, [512])]
    for n in range(1, 7):
        for _ in range(4):
            adc = [rnd.randrange(1 << WIDTH[k]) for k in range(n)]
            rows.append((n, rnd.randrange(16), rnd.randrange(16), adc))
        rows.append((n, 15, 15, [(1 << WIDTH[k]) - 1 for k in range(n)]))
        rows.append((n, 0, 0, [0] * n))
    for n, seq, dig, adc in rows:
        print(n, seq, dig, *adc, "|", encode(n, seq, dig, adc).hex(" "))

main()
