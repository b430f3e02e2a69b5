"""Speed of the built VST3 (Sourcery.vst3) in pedalboard by host block size, for
tests/benches/host_blocks.rs.

Usage: python3 vst3_blocks.py BUNDLE
Prints one `block realtime` line per block size: seconds of stereo audio at 44.1 kHz per
second of wall-clock time, best of 5 runs of 3 s of noise, the plugin activated once per
block size (pedalboard re-activates when the block size grows). Each `process` call is a
Python call, so the smallest blocks include pedalboard's per-call cost.
"""

import sys
import time

import numpy as np
import pedalboard

RATE = 44100.0
SECONDS = 3.0


def main(bundle):
    plugin = pedalboard.load_plugin(bundle)
    rng = np.random.default_rng(1)
    frames = int(RATE * SECONDS)
    audio = (rng.random((2, frames), dtype=np.float32) - 0.5).astype(np.float32)
    for block in [1, 64, 512, 8192, 16384]:
        chunks = [audio[:, i:i + block] for i in range(0, frames, block)]
        plugin.reset()
        plugin.process(chunks[0], RATE, reset=False)
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for chunk in chunks:
                plugin.process(chunk, RATE, reset=False)
            best = min(best, time.perf_counter() - t)
        print(block, f"{SECONDS / best:.1f}")


if __name__ == "__main__":
    main(sys.argv[1])
