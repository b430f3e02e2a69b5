"""Speed of the built VST3 (Sourcery.vst3) in pedalboard by host block size, for
tests/benches/host_blocks.rs.

Usage: python3 vst3_blocks.py BUNDLE
Prints one `block realtime` line per block size: seconds of stereo audio at 44.1 kHz per
second of wall-clock time, best of 5 rounds of 3 s of noise (the sizes in turn, one
instance activated per block size: pedalboard re-activates when the block size grows). Each `process` call is a
Python call, so the smallest blocks include pedalboard's per-call cost.
"""

import sys
import time

import numpy as np
import pedalboard

RATE = 44100.0
SECONDS = 3.0


def main(bundle):
    rng = np.random.default_rng(1)
    frames = int(RATE * SECONDS)
    audio = (rng.random((2, frames), dtype=np.float32) - 0.5).astype(np.float32)
    blocks = [1, 64, 512, 8192, 16384]
    # One instance per block size (pedalboard re-activates a plugin when the block size
    # grows), and the sizes take turns, so a slow spell of a shared machine falls on every
    # size alike.
    runs = []
    for block in blocks:
        instance = pedalboard.load_plugin(bundle)
        chunks = [audio[:, i:i + block] for i in range(0, frames, block)]
        instance.reset()
        instance.process(chunks[0], RATE, reset=False)
        runs.append((instance, chunks))
    best = [float("inf")] * len(blocks)
    for _ in range(5):
        for i, (instance, chunks) in enumerate(runs):
            t = time.perf_counter()
            for chunk in chunks:
                instance.process(chunk, RATE, reset=False)
            best[i] = min(best[i], time.perf_counter() - t)
    for block, seconds in zip(blocks, best):
        print(block, f"{SECONDS / seconds:.1f}")

if __name__ == "__main__":
    main(sys.argv[1])
