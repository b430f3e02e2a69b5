"""VST3 host checks for Sourcery through pedalboard (headless).

Usage: python3 vst3_host.py BUNDLE CHECK [ARGS…]
Each CHECK prints what it measured and exits 0 on success, 1 with a reason on failure.
Driven from tests/tests/host_vst3.rs, one Rust test per check.
"""

import sys

import numpy as np
import pedalboard

RATE = 48000.0


def sine(freq_hz, frames, amplitude=0.5, channels=2):
    t = np.arange(frames) / RATE
    x = (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)
    return np.tile(x, (channels, 1))


def rms_db(x):
    return 10 * np.log10(np.mean(np.square(x.astype(np.float64))))


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def load(bundle):
    plugin = pedalboard.load_plugin(bundle)
    if not isinstance(plugin, pedalboard.VST3Plugin):
        fail(f"{bundle} did not load as a VST3 plugin")
    return plugin


def set_trim_db(plugin, db):
    # raw_value is exact (0..1 normalised); the attribute setter is quantised to ~1000 steps.
    plugin.parameters["output_trim_db"].raw_value = (db + 24.0) / 48.0


def process(plugin, x):
    return plugin.process(x, RATE, buffer_size=512, reset=False)


def restored(bundle, a, x):
    """A fresh instance given `a`'s state; both reset and fed `x`, which must come out
    identical. Returns (the restored instance, its output)."""
    b = load(bundle)
    b.raw_state = a.raw_state
    a.reset()
    b.reset()
    ya, yb = process(a, x), process(b, x)
    if not np.array_equal(ya, yb):
        fail(f"restored instance differs by up to {np.max(np.abs(ya - yb))}")
    return b, yb


def check_params(bundle):
    plugin = load(bundle)
    names = set(plugin.parameters.keys())
    expected = {"bypass", "level_match", "output_trim_db", "device", "headphone"}
    missing = expected - names
    if missing:
        fail(f"parameters missing: {sorted(missing)}; have {sorted(names)}")
    if plugin.parameters["level_match"].raw_value != 1.0:
        fail("level_match must default to on")
    device = plugin.parameters["device"]
    labels = list(device.valid_values)
    if "FiiO K13 R2R" not in labels or "Ideal" not in labels:
        fail(f"device labels {labels}")
    plugin.device = "Ideal"
    if plugin.device != "Ideal":
        fail(f"setting device by label read back {plugin.device!r}")
    print(f"{len(names)} parameters; device labels {labels}")


def check_level(bundle):
    for channels in (2, 1):
        plugin = load(bundle)
        x = sine(1000.0, 48000, channels=channels)
        y = process(plugin, x)
        default_db = rms_db(y[:, 4800:]) - rms_db(x[:, 4800:])
        if abs(default_db) > 0.01:
            fail(f"{channels} ch: default level {default_db:+.4f} dB, expected 0 ± 0.01")
        set_trim_db(plugin, -6.0)
        plugin.reset()
        y = process(plugin, x)
        trim_db = rms_db(y[:, 4800:]) - rms_db(x[:, 4800:])
        if abs(trim_db + 6.0) > 0.05:
            fail(f"{channels} ch: trim -6 dB measured {trim_db:+.4f} dB")
        print(f"{channels} ch: default {default_db:+.4f} dB, trim -6 dB -> {trim_db:+.4f} dB")


def check_state(bundle):
    a = load(bundle)
    set_trim_db(a, -9.0)
    # The headphone and a PEQ band (+6 dB, Q 2 at 100 Hz: < 0.02 dB at 1 kHz) travel in
    # the state too.
    a.headphone = "Sennheiser HD600"
    a.band_1_type = "PK"
    a.parameters["band_1_gain_db"].raw_value = (6.0 + 30.0) / 60.0
    # 1 kHz: where level matching holds the level (the default headphone's load tilts
    # other frequencies by a few hundredths of a dB).
    x = sine(1000.0, 24000)
    process(a, x)
    b, yb = restored(bundle, a, x)
    if b.headphone != "Sennheiser HD600" or abs(b.parameters["band_1_gain_db"].raw_value - 0.6) > 1e-6:
        fail(f"restored headphone {b.headphone!r}, band 1 gain raw {b.parameters['band_1_gain_db'].raw_value}")
    level = rms_db(yb[:, 4800:]) - rms_db(x[:, 4800:])
    if abs(level + 9.0) > 0.05:
        fail(f"restored trim measured {level:+.4f} dB, expected -9")
    print(f"state restored: identical output, level {level:+.4f} dB")


def check_bad_input(bundle):
    plugin = load(bundle)
    x = sine(1000.0, 48000)
    x[0, 1000:1010] = np.nan
    x[1, 1000:1005] = np.inf
    x[1, 1005:1010] = -np.inf
    x[0, 1010:1020] = 1e-40
    y = process(plugin, x)
    if not np.all(np.isfinite(y)):
        fail(f"{np.count_nonzero(~np.isfinite(y))} non-finite output samples")
    clean = sine(1000.0, 48000)
    tail_db = rms_db(y[:, 4800:]) - rms_db(clean[:, 4800:])
    if abs(tail_db) > 0.01:
        fail(f"level after the burst {tail_db:+.4f} dB")
    print(f"all output finite; level after the burst {tail_db:+.4f} dB")


def find_param(plugin, prefix):
    """The one parameter whose snake-cased name starts with `prefix`."""
    names = [n for n in plugin.parameters.keys() if n.startswith(prefix)]
    if len(names) != 1:
        fail(f"parameter {prefix}*: found {names}")
    return plugin.parameters[names[0]]


def check_your_chain(bundle):
    # Calibrated SPL through the VST3 parameters: the output at 1 kHz follows the stated
    # SPL of the listener's chain dB for dB (10 dB more SPL per 0 dBFS: 10 dB less output),
    # and the listener's source and the level mode travel in the state.
    levels = []
    for spl in (100.0, 110.0):
        plugin = load(bundle)
        find_param(plugin, "calibrated_spl").raw_value = 1.0
        find_param(plugin, "your_custom_output_impedance").raw_value = 1.0
        # Your Output Impedance: 0..150 ohm, skewed; 10 ohm is the skew centre (raw 0.5).
        find_param(plugin, "your_output_impedance").raw_value = 0.5
        find_param(plugin, "your_spl_at_0_dbfs").raw_value = (spl - 60.0) / 90.0
        x = sine(1000.0, 24000, amplitude=0.1)
        y = process(plugin, x)
        levels.append(rms_db(y[:, 4800:]) - rms_db(x[:, 4800:]))
        if spl == 110.0:
            b, _ = restored(bundle, plugin, x)
            if find_param(b, "calibrated_spl").raw_value != 1.0:
                fail("calibrated SPL was not restored")
    step = levels[0] - levels[1]
    if abs(step - 10.0) > 0.01:
        fail(f"10 dB more SPL per 0 dBFS moved the output by {step:.4f} dB")
    print(f"calibrated SPL: output {levels[0]:+.3f} dB at 100 dB SPL, {levels[1]:+.3f} dB at 110; state restored")


def check_preset(bundle, values_json, input_f32, output_f32):
    # A user preset as a VST3 host applies it: every parameter it sets, through the host's
    # parameters (normalised values, computed by the Rust side from the preset file); the
    # output is written for the Rust side to compare with the renderer.
    import json
    plugin = load(bundle)
    values = json.load(open(values_json))
    for key, raw in values.items():
        if key not in plugin.parameters:
            fail(f"no parameter {key}")
        plugin.parameters[key].raw_value = raw
    x = np.fromfile(input_f32, dtype=np.float32).reshape(2, -1)
    # The values are set before the first block: the instance is activated with them.
    y = plugin.process(x, RATE, buffer_size=512, reset=True)
    y.astype(np.float32).tofile(output_f32)
    print(f"preset: {len(values)} parameters set, {y.shape[1]} frames processed")


CHECKS = {
    "preset": check_preset,
    "your_chain": check_your_chain,
    "params": check_params,
    "level": check_level,
    "state": check_state,
    "bad_input": check_bad_input,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[2] not in CHECKS:
        print(__doc__)
        sys.exit(2)
    CHECKS[sys.argv[2]](sys.argv[1], *sys.argv[3:])
