//! Tests that drive the plugin through its C entry points, the way a host does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;

use sourcery_dsp::ParamId;

use super::*;

// ---------------------------------------------------------------------------------------
// An allocator that counts this thread's allocations, to prove `run()` never allocates.

struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_allocation() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_allocation();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// ---------------------------------------------------------------------------------------
// A minimal host.

const RATE: f64 = 48_000.0;

/// One instance, driven through the descriptor's function pointers. Control values live in
/// `Cell`s so the test can change them while the plugin holds pointers to them.
struct Host {
    variant: Variant,
    descriptor: &'static LV2_Descriptor,
    handle: LV2_Handle,
    /// Port index of each symbol.
    indices: HashMap<String, u32>,
    controls: Box<[Cell<f32>]>,
    latency: Box<Cell<f32>>,
}

impl Host {
    /// An activated instance with every control connected (at its default) and the latency
    /// port connected, using the runtime port layout.
    fn new(variant: Variant) -> Self {
        let indices = variant
            .ports()
            .map(|p| (p.symbol(variant).to_owned(), port_index(variant, p)))
            .collect();
        Self::with_indices(variant, indices, true)
    }

    /// Like [`Host::new`], but with port indices from elsewhere (e.g. the TTL), and
    /// optionally without connecting any control port.
    fn with_indices(variant: Variant, indices: HashMap<String, u32>, connect: bool) -> Self {
        let index = Variant::ALL.iter().position(|v| *v == variant).unwrap() as u32;
        // SAFETY: `lv2_descriptor` returns a pointer into a `static` (or null, checked).
        let descriptor = unsafe { lv2_descriptor(index).as_ref() }.expect("descriptor");
        let features: [*const LV2_Feature; 1] = [ptr::null()];
        // SAFETY: a valid descriptor, a bundle path with a trailing slash and a
        // null-terminated (empty) feature list, as LV2 requires.
        let handle = unsafe {
            (descriptor.instantiate.unwrap())(
                descriptor,
                RATE,
                c"/nonexistent/".as_ptr(),
                features.as_ptr(),
            )
        };
        assert!(!handle.is_null());
        let host = Self {
            variant,
            descriptor,
            handle,
            indices,
            controls: PARAMS
                .iter()
                .map(|p| Cell::new(p.default_value()))
                .collect(),
            latency: Box::new(Cell::new(-1.0)),
        };
        if connect {
            for (spec, cell) in PARAMS.iter().zip(host.controls.iter()) {
                host.connect(spec.id, cell.as_ptr().cast());
            }
            host.connect("latency", host.latency.as_ptr().cast());
        }
        // SAFETY: a live handle from `instantiate`.
        unsafe { (host.descriptor.activate.unwrap())(host.handle) };
        host
    }

    fn connect(&self, symbol: &str, data: *mut c_void) {
        let index = self.indices[symbol];
        // SAFETY: a live handle; `data` outlives every later `run` (it points into `self` or
        // is reconnected before each run).
        unsafe { (self.descriptor.connect_port.unwrap())(self.handle, index, data) };
    }

    fn set(&self, id: ParamId, value: f32) {
        self.controls[id as usize].set(value);
    }

    fn latency(&self) -> f32 {
        self.latency.get()
    }

    fn raw_run(&self, frames: usize) {
        // SAFETY: a live handle, with every connected buffer holding `frames` samples.
        unsafe { (self.descriptor.run.unwrap())(self.handle, frames as u32) };
    }

    /// Process `inputs` into `outputs` (separate buffers), one run per element of `sizes`
    /// (cycled) until the input is consumed.
    fn process_chunked(&self, inputs: &[Vec<f32>], sizes: &[usize]) -> Vec<Vec<f32>> {
        let frames = inputs[0].len();
        let mut outputs = vec![vec![0.0f32; frames]; inputs.len()];
        let mut start = 0;
        for &size in sizes.iter().cycle() {
            if start >= frames {
                break;
            }
            let len = size.min(frames - start);
            for ch in 0..inputs.len() {
                let input = self.variant.audio_in_symbols()[ch];
                let output = self.variant.audio_out_symbols()[ch];
                self.connect(input, inputs[ch][start..].as_ptr().cast_mut().cast());
                self.connect(output, outputs[ch][start..].as_mut_ptr().cast());
            }
            self.raw_run(len);
            start += len;
        }
        outputs
    }

    /// Process in one run.
    fn process(&self, inputs: &[Vec<f32>]) -> Vec<Vec<f32>> {
        self.process_chunked(inputs, &[inputs[0].len()])
    }

    /// Process in place: each channel's input and output port share one buffer.
    fn process_in_place(&self, channels: &mut [Vec<f32>]) {
        for (ch, buffer) in channels.iter_mut().enumerate() {
            let data = buffer.as_mut_ptr().cast();
            self.connect(self.variant.audio_in_symbols()[ch], data);
            self.connect(self.variant.audio_out_symbols()[ch], data);
        }
        self.raw_run(channels[0].len());
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // SAFETY: a live handle, used for the last time.
        unsafe {
            (self.descriptor.deactivate.unwrap())(self.handle);
            (self.descriptor.cleanup.unwrap())(self.handle);
        }
    }
}

fn sine(freq_hz: f64, frames: usize, amplitude: f32) -> Vec<f32> {
    (0..frames)
        .map(|i| amplitude * (std::f64::consts::TAU * freq_hz * i as f64 / RATE).sin() as f32)
        .collect()
}

fn rms_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * ms.log10()
}

/// A stereo or mono test signal: a 1 kHz sine, the right channel at another frequency.
fn test_signal(variant: Variant, frames: usize) -> Vec<Vec<f32>> {
    let mut channels = vec![sine(1000.0, frames, 0.5)];
    if variant.channels() == 2 {
        channels.push(sine(1234.5, frames, 0.3));
    }
    channels
}

/// Frames skipped before measuring: the latency plus the 10 ms gain ramp, with margin.
fn settle_frames(host: &Host) -> usize {
    host.latency() as usize + (0.05 * RATE) as usize
}

// ---------------------------------------------------------------------------------------

#[test]
fn descriptors_match_variants_and_uris() {
    for (i, variant) in Variant::ALL.iter().enumerate() {
        // SAFETY: a pointer into a static.
        let d = unsafe { lv2_descriptor(i as u32).as_ref() }.unwrap();
        // SAFETY: the URI is a 'static C string literal.
        let uri = unsafe { CStr::from_ptr(d.URI) };
        assert_eq!(uri.to_str().unwrap(), variant.uri());
    }
    assert_eq!(URI_STEREO, "https://sourcery.audio/lv2/sourcery");
    assert_eq!(URI_MONO, "https://sourcery.audio/lv2/sourcery-mono");
    assert!(lv2_descriptor(2).is_null());
    assert!(lv2_descriptor(u32::MAX).is_null());
}

#[test]
fn bad_sample_rates_fail_instantiation_and_null_handles_are_ignored() {
    // SAFETY: a pointer into a static.
    let d = unsafe { lv2_descriptor(0).as_ref() }.unwrap();
    let features: [*const LV2_Feature; 1] = [ptr::null()];
    for rate in [0.0, -48_000.0, f64::NAN, f64::INFINITY] {
        // SAFETY: valid descriptor, path and feature list.
        let handle =
            unsafe { (d.instantiate.unwrap())(d, rate, c"/x/".as_ptr(), features.as_ptr()) };
        assert!(handle.is_null(), "rate {rate} must be refused");
    }
    // SAFETY: every entry point accepts a null handle as a no-op.
    unsafe {
        (d.connect_port.unwrap())(ptr::null_mut(), 0, ptr::null_mut());
        (d.activate.unwrap())(ptr::null_mut());
        (d.run.unwrap())(ptr::null_mut(), 64);
        (d.cleanup.unwrap())(ptr::null_mut());
        assert!((d.extension_data.unwrap())(c"urn:x".as_ptr()).is_null());
    }
}

#[test]
fn output_equals_the_engine_and_latency_is_reported() {
    for variant in Variant::ALL {
        let host = Host::new(variant);
        host.set(ParamId::OutputTrim, -3.0);
        let input = test_signal(variant, 10_000);
        let output = host.process_chunked(&input, &[1000]);

        // The same engine, driven directly with the same settings and blocks; the first
        // `run` takes its control values from sample 0, as `install_now` does.
        let mut values = ParamValues::default();
        values.set(ParamId::OutputTrim, -3.0);
        let mut engine = Engine::new(&Settings::default());
        engine.prepare(RATE as f32, MAX_BLOCK, variant.channels());
        assert!(engine.install_now(&Settings::from_values(&values)));
        let mut expected = input.clone();
        for start in (0..input[0].len()).step_by(1000) {
            let mut blocks: Vec<&mut [f32]> = expected
                .iter_mut()
                .map(|c| &mut c[start..start + 1000])
                .collect();
            engine.process(&mut blocks);
        }
        assert_eq!(output, expected, "{variant:?}");
        assert_eq!(host.latency(), engine.latency_samples() as f32);
    }
}

#[test]
fn in_place_equals_out_of_place() {
    for variant in Variant::ALL {
        let input = test_signal(variant, 10_000);
        let separate = Host::new(variant);
        separate.set(ParamId::OutputTrim, -3.0);
        let expected = separate.process(&input);

        let in_place = Host::new(variant);
        in_place.set(ParamId::OutputTrim, -3.0);
        let mut buffers = input.clone();
        in_place.process_in_place(&mut buffers);
        assert_eq!(buffers, expected, "{variant:?}");
        assert_ne!(buffers, input, "the trim must have changed something");
    }
}

#[test]
fn any_run_length_gives_the_same_output() {
    const FRAMES: usize = 30_000;
    let patterns: &[&[usize]] = &[
        &[1],
        &[7],
        &[4096],
        &[10_000],
        &[1, 7, 64, 4097, 13, 512, 8191, 2, 3000],
    ];
    for variant in Variant::ALL {
        let input = test_signal(variant, FRAMES);
        let reference = Host::new(variant);
        reference.set(ParamId::OutputTrim, -4.5);
        let expected = reference.process(&input);
        for sizes in patterns {
            let host = Host::new(variant);
            host.set(ParamId::OutputTrim, -4.5);
            let output = host.process_chunked(&input, sizes);
            let first_difference = output[0].iter().zip(&expected[0]).position(|(a, b)| a != b);
            assert_eq!(
                output, expected,
                "{variant:?}, run lengths {sizes:?}: first difference at {first_difference:?}"
            );
        }
    }
}

#[test]
fn output_trim_sets_the_level() {
    for variant in Variant::ALL {
        let input = test_signal(variant, 48_000);
        let unity = Host::new(variant).process(&input);
        let host = Host::new(variant);
        host.set(ParamId::OutputTrim, -6.0);
        let output = host.process(&input);
        let skip = settle_frames(&host);
        for (ch, (x, y)) in unity.iter().zip(&output).enumerate() {
            let db = rms_db(&y[skip..]) - rms_db(&x[skip..]);
            println!("{variant:?} channel {ch}: trim −6 dB measured {db:+.5} dB");
            assert!((db + 6.0).abs() < 0.01, "{variant:?}: measured {db:.4} dB");
        }
    }
}

#[test]
fn non_finite_and_denormal_input_never_poisons_output() {
    for variant in Variant::ALL {
        let host = Host::new(variant);
        host.set(ParamId::OutputTrim, -6.0);
        let frames = 512;
        let mut burst = test_signal(variant, frames);
        for channel in &mut burst {
            channel[100] = f32::NAN;
            channel[101] = f32::INFINITY;
            channel[102] = f32::NEG_INFINITY;
            channel[103] = 1.0e-40;
            channel[104] = -1.0e-42;
            channel[105] = f32::MAX;
        }
        let out = host.process(&burst);
        assert!(
            out.iter().flatten().all(|x| x.is_finite()),
            "{variant:?} burst run"
        );
        // A whole run of NaN.
        let nan = vec![vec![f32::NAN; frames]; variant.channels()];
        let out = host.process(&nan);
        assert!(
            out.iter().flatten().all(|x| x.is_finite()),
            "{variant:?} NaN run"
        );

        // Later runs: finite and, once settled, at the level of an instance that never saw
        // the burst.
        let clean = test_signal(variant, 48_000);
        let out = host.process(&clean);
        assert!(
            out.iter().flatten().all(|x| x.is_finite()),
            "{variant:?} later run"
        );
        let reference = Host::new(variant);
        reference.set(ParamId::OutputTrim, -6.0);
        let expected = reference.process(&clean);
        let skip = settle_frames(&reference);
        for (x, y) in expected.iter().zip(&out) {
            let db = rms_db(&y[skip..]) - rms_db(&x[skip..]);
            assert!(
                db.abs() < 0.01,
                "{variant:?}: {db:+.4} dB off after the burst"
            );
        }
    }
}

#[test]
fn non_finite_controls_mean_default_and_out_of_range_is_clamped() {
    let variant = Variant::Stereo;
    let input = test_signal(variant, 9600);
    let reference = Host::new(variant).process(&input);
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let host = Host::new(variant);
        for control in host.controls.iter() {
            control.set(bad);
        }
        assert_eq!(host.process(&input), reference, "controls at {bad}");
    }
    // Out-of-range values are clamped to the table's range: +100 dB acts as the maximum.
    let max_db = ParamId::OutputTrim.spec().max();
    let at_max = Host::new(variant);
    at_max.set(ParamId::OutputTrim, max_db);
    let expected = at_max.process(&input);
    let host = Host::new(variant);
    host.set(ParamId::OutputTrim, 100.0);
    assert_eq!(host.process(&input), expected);
    assert_ne!(expected, reference);
}

#[test]
fn unconnected_ports_do_not_crash() {
    for variant in Variant::ALL {
        let indices = variant
            .ports()
            .map(|p| (p.symbol(variant).to_owned(), port_index(variant, p)))
            .collect();
        // Nothing connected at all.
        let host = Host::with_indices(variant, indices, false);
        host.raw_run(64);
        host.raw_run(10_000);
        // Outputs only: unconnected inputs read as silence.
        let mut outputs = vec![vec![1.0f32; 256]; variant.channels()];
        for (ch, out) in outputs.iter_mut().enumerate() {
            host.connect(variant.audio_out_symbols()[ch], out.as_mut_ptr().cast());
        }
        host.raw_run(256);
        // Silence in, the source's own floor out: the default K13 at 50 % volume (−47.5 dB)
        // and low gain puts 7 mV at full scale and its 3 µV(A) amp hiss after the volume
        // control, which level matching lifts with the signal: about −67 dB re full scale
        // (peaks near 1e-3). So "silent" means finite and below −40 dBFS, not zeros.
        let loudest = outputs
            .iter()
            .flatten()
            .fold(0.0f32, |a, &x| a.max(x.abs()));
        assert!(
            outputs.iter().flatten().all(|&x| x.is_finite()) && loudest < 1e-2,
            "silence came out at {loudest:e}"
        );
        // Unknown port indices are ignored.
        let mut junk = 0.0f32;
        // SAFETY: a live handle; the plugin ignores indices past its last port.
        unsafe {
            (host.descriptor.connect_port.unwrap())(
                host.handle,
                variant.port_count() + 3,
                ptr::from_mut(&mut junk).cast(),
            );
        }
        host.raw_run(16);
    }
}

#[test]
fn run_never_allocates() {
    let before = allocations();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert!(allocations() > before, "the counting allocator is in use");
    for variant in Variant::ALL {
        let host = Host::new(variant);
        let input = test_signal(variant, 20_000);
        let mut outputs = vec![vec![0.0f32; input[0].len()]; input.len()];
        for ch in 0..input.len() {
            host.connect(
                variant.audio_in_symbols()[ch],
                input[ch].as_ptr().cast_mut().cast(),
            );
            host.connect(
                variant.audio_out_symbols()[ch],
                outputs[ch].as_mut_ptr().cast(),
            );
        }
        let before = allocations();
        for (i, frames) in [1, 7, 4096, 10_000, 20_000, 0].into_iter().enumerate() {
            // Change every parameter between runs, through its whole range.
            for (row, spec) in PARAMS.iter().enumerate() {
                let value = if i % 2 == 0 { spec.max() } else { spec.min() };
                host.controls[row].set(value);
            }
            host.raw_run(frames);
        }
        assert_eq!(allocations() - before, 0, "{variant:?}: run() allocated");
    }
}

#[test]
fn ttl_port_indices_drive_the_binary() {
    for variant in Variant::ALL {
        let indices: HashMap<String, u32> = crate::ttl::tests::ttl_port_indices(variant)
            .into_iter()
            .map(|(index, symbol)| (symbol, index))
            .collect();
        let from_ttl = Host::with_indices(variant, indices, true);
        let from_layout = Host::new(variant);
        assert_eq!(from_ttl.latency(), -1.0);
        // Every control away from its default, so a swapped port would change the output.
        for (row, spec) in PARAMS.iter().enumerate() {
            let value = if spec.default_value() == spec.max() {
                spec.min()
            } else {
                spec.max()
            };
            from_ttl.controls[row].set(value);
            from_layout.controls[row].set(value);
        }
        from_ttl.set(ParamId::Bypass, 0.0);
        from_layout.set(ParamId::Bypass, 0.0);
        let input = test_signal(variant, 9600);
        let output = from_ttl.process(&input);
        assert_eq!(output, from_layout.process(&input), "{variant:?}");
        assert_ne!(output, input, "{variant:?}: the controls had no effect");
        assert_eq!(from_ttl.latency(), from_layout.latency(), "latency port");
    }
}
