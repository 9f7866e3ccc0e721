#!/usr/bin/python3
"""Make the reference beat and SCR files the Go tests compare against.

Run once, offline, with Debian's python3-numpy and python3-scipy
(`apt-get install python3-numpy python3-scipy`; `/usr/bin/python3 make_refs.py`).
`make test` does not need Python: the outputs are committed beside this file.

The detectors are independent, non-causal re-implementations written from
the published descriptions (none of cueroom's Go code is used):

- ECG R peaks: NeuroKit2's default method ("neurokit", Makowski et al. 2021):
  5th-order Butterworth high-pass 0.5 Hz (zero phase) plus a 50 Hz
  moving-average powerline filter; QRS regions where the 0.1 s boxcar-smoothed
  absolute gradient exceeds 1.5 x its 0.75 s boxcar average; regions shorter
  than 0.4 x the mean region length dropped; R = the most prominent local
  maximum of the cleaned ECG inside each region; at least 0.3 s between beats.
- PPG systolic peaks: Elgendi et al. (2013), PLoS ONE 8(10):e76585, as
  NeuroKit2 applies it: 3rd-order Butterworth band-pass 0.5-8 Hz (zero phase);
  clip negatives, square; blocks where the 111 ms moving average exceeds the
  667 ms moving average plus 0.02 x the mean squared signal; blocks at least
  111 ms wide; peak = maximum of the filtered signal in the block; at least
  0.3 s between peaks.
- SCRs: trough-to-peak on the skin conductance low-passed at 3 Hz
  (4th-order Butterworth, zero phase, as NeuroKit2's eda_clean): every
  local minimum followed by a local maximum at least 0.01 uS higher, rise
  time 0.1-7 s; onset = the trough.

Output: one file per recording and signal, "<file>.<signal>.txt", one
0-based sample index per line (for SCRs: onset, peak and amplitude).
"""
import csv
import os
import sys

import numpy as np
import scipy.signal as ss

DATA = os.environ.get("PHYSIO_DATA", os.path.join(os.path.dirname(__file__), "../../../../../shared/data/physio"))
OUT = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(DATA, name)) as f:
        rows = list(csv.reader(f))
    head = rows[0]
    data = np.array(rows[1:], dtype=float)
    return {h: data[:, i] for i, h in enumerate(head)}


def boxcar(x, n):
    n = max(int(n), 1)
    k = np.ones(n) / n
    return np.convolve(x, k, mode="same")


def ecg_neurokit(x, fs):
    sos = ss.butter(5, 0.5, btype="highpass", fs=fs, output="sos")
    y = ss.sosfiltfilt(sos, x)
    if fs >= 100:
        y = boxcar(y, int(round(fs / 50)))
    grad = np.abs(np.gradient(y))
    smooth = boxcar(grad, round(0.1 * fs))
    avg = boxcar(smooth, round(0.75 * fs))
    qrs = smooth > 1.5 * avg
    beg = np.where(~qrs[:-1] & qrs[1:])[0]
    end = np.where(qrs[:-1] & ~qrs[1:])[0]
    end = end[end > beg[0]]
    k = min(len(beg), len(end))
    beg, end = beg[:k], end[:k]
    minlen = 0.4 * np.mean(end - beg)
    peaks = []
    for b, e in zip(beg, end):
        if e - b < minlen:
            continue
        seg = y[b:e]
        loc, prop = ss.find_peaks(seg, prominence=(None, None))
        if len(loc) == 0:
            continue
        p = b + loc[np.argmax(prop["prominences"])]
        if not peaks or p - peaks[-1] > round(0.3 * fs):
            peaks.append(p)
    return np.array(peaks, dtype=int)


def ppg_elgendi(x, fs):
    sos = ss.butter(3, [0.5, 8], btype="bandpass", fs=fs, output="sos")
    y = ss.sosfiltfilt(sos, x)
    z = np.where(y > 0, y, 0) ** 2
    w1, w2 = round(0.111 * fs), round(0.667 * fs)
    mpeak = boxcar(z, w1)
    mbeat = boxcar(z, w2)
    thr = mbeat + 0.02 * np.mean(z)
    blk = mpeak > thr
    beg = np.where(~blk[:-1] & blk[1:])[0]
    end = np.where(blk[:-1] & ~blk[1:])[0]
    end = end[end > beg[0]]
    peaks = []
    for b, e in zip(beg, end):
        if e - b < w1:
            continue
        p = b + int(np.argmax(y[b:e]))
        if not peaks or p - peaks[-1] > round(0.3 * fs):
            peaks.append(p)
    return np.array(peaks, dtype=int)


def scr_trough_to_peak(x, fs, thr=0.01):
    sos = ss.butter(4, 3, btype="lowpass", fs=fs, output="sos")
    y = ss.sosfiltfilt(sos, x)
    mins = ss.argrelextrema(y, np.less_equal, order=1)[0]
    maxs = ss.argrelextrema(y, np.greater_equal, order=1)[0]
    out = []
    for m in maxs:
        prev = mins[mins < m]
        if len(prev) == 0:
            continue
        o = prev[-1]
        if out and o < out[-1][1]:
            continue
        amp = y[m] - y[o]
        rise = (m - o) / fs
        if amp >= thr and 0.1 <= rise <= 7:
            out.append((o, m, amp))
    return out


def write(name, rows):
    with open(os.path.join(OUT, name), "w") as f:
        for r in rows:
            if isinstance(r, tuple):
                f.write("%d %d %.6f\n" % r)
            else:
                f.write("%d\n" % r)
    print(name, len(rows))


def main():
    for name, fs in [("bio_eventrelated_100hz.csv", 100), ("bio_resting_5min_100hz.csv", 100),
                     ("bio_resting_8min_100hz.csv", 100), ("ecg_1000hz.csv", 1000), ("ecg_3000hz.csv", 3000)]:
        d = load(name)
        base = name[:-4]
        write(base + ".ecg.txt", ecg_neurokit(d["ECG"], fs))
        if "PPG" in d:
            write(base + ".ppg.txt", ppg_elgendi(d["PPG"], fs))
        if "EDA" in d:
            write(base + ".scr.txt", scr_trough_to_peak(d["EDA"], fs))


if __name__ == "__main__":
    sys.exit(main())
