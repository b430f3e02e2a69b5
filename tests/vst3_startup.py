"""Start-up figures of the built VST3 (Sourcery.vst3) in pedalboard, for tests/benches/startup.rs.

Usage: python3 vst3_startup.py BUNDLE
Prints one `name value` line per figure (milliseconds, or MiB for memory). Each run is a
fresh process, so the first figures are cold (the first instance in the process).

`load_plugin` ends with pedalboard's own Python parameter scan (`AudioProcessorParameter`:
1001 text queries per parameter, to guess ranges and types), which is host work that
grows with the parameter count, not the plugin's start-up. The instantiate and memory
figures leave it out (the scan is deferred); it is timed on its own as
`vst3_pedalboard_param_scan_ms`. pedalboard (JUCE) activates the plugin at 44.1 kHz while
loading it (four times: once in real time, three times offline), so its load figures
include an activation.
"""

import sys
import time

import numpy as np
import pedalboard


def rss_mib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def ms(seconds):
    return f"{seconds * 1e3:.2f}"


def main(bundle):
    # Defer pedalboard's parameter scan (run at the end of construction) until `parameters`
    # is first read.
    pedalboard._pedalboard._PythonExternalPluginMixin.__set_initial_parameter_values__ = (
        lambda self, values: None
    )
    block = np.zeros((2, 512), dtype=np.float32)
    t = time.perf_counter()
    plugin = pedalboard.load_plugin(bundle)
    print("vst3_load_and_activate_cold_ms", ms(time.perf_counter() - t))
    t = time.perf_counter()
    plugin.process(block, 44100.0, reset=False)
    print("vst3_first_process_44k1_ms", ms(time.perf_counter() - t))
    t = time.perf_counter()
    plugin.process(block, 44100.0, reset=False)
    print("vst3_process_512_ms", ms(time.perf_counter() - t))
    t = time.perf_counter()
    plugin.process(block, 48000.0, reset=False)
    print("vst3_rate_change_48k_ms", ms(time.perf_counter() - t))
    t = time.perf_counter()
    plugin.process(np.zeros((2, 8192), dtype=np.float32), 48000.0, reset=False)
    print("vst3_block_change_8192_ms", ms(time.perf_counter() - t))
    t = time.perf_counter()
    plugin.parameters
    print("vst3_pedalboard_param_scan_ms", ms(time.perf_counter() - t))
    t = time.perf_counter()
    second = pedalboard.load_plugin(bundle)
    print("vst3_load_and_activate_warm_ms", ms(time.perf_counter() - t))
    t = time.perf_counter()
    second.process(block, 44100.0, reset=False)
    print("vst3_first_process_44k1_warm_ms", ms(time.perf_counter() - t))
    before = rss_mib()
    more = []
    for _ in range(8):
        p = pedalboard.load_plugin(bundle)
        p.process(block, 44100.0, reset=False)
        more.append(p)
    print("vst3_idle_instance_mib", f"{(rss_mib() - before) / 8:.2f}")


if __name__ == "__main__":
    main(sys.argv[1])
