//! Tests that drive the plugin through its C entry points, the way a host does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::CString;

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
    /// The `urid:map` feature given at instantiation, if any (kept alive with the instance).
    map: Option<Box<UridMap>>,
}

/// A host's `urid:map`: URIs numbered from 1 in the order they are first asked for.
struct UridMap {
    uris: RefCell<Vec<CString>>,
    map: LV2_URID_Map,
    feature: LV2_Feature,
}

impl UridMap {
    fn new() -> Box<Self> {
        let mut map = Box::new(Self {
            uris: RefCell::new(Vec::new()),
            map: LV2_URID_Map {
                handle: ptr::null_mut(),
                map: Some(Self::map_uri),
            },
            feature: LV2_Feature {
                URI: lv2_sys::LV2_URID__map.as_ptr().cast(),
                data: ptr::null_mut(),
            },
        });
        // The box does not move: the pointers into it stay valid while it lives.
        map.map.handle = ptr::from_ref(&*map).cast_mut().cast();
        map.feature.data = ptr::from_ref(&map.map).cast_mut().cast();
        map
    }

    fn urid(&self, uri: &CStr) -> u32 {
        let mut uris = self.uris.borrow_mut();
        let index = uris
            .iter()
            .position(|u| u.as_c_str() == uri)
            .unwrap_or_else(|| {
                uris.push(uri.to_owned());
                uris.len() - 1
            });
        index as u32 + 1
    }

    unsafe extern "C" fn map_uri(handle: *mut c_void, uri: *const c_char) -> u32 {
        // SAFETY: `handle` is the `UridMap` this function was installed with, alive while the
        // instance is; `uri` is a C string (LV2 urid).
        unsafe { (*handle.cast::<UridMap>()).urid(CStr::from_ptr(uri)) }
    }
}

/// Properties a plugin stored with `save`, or a host hands to `restore`, by key URID:
/// `(type URID, bytes)`.
type StateProps = HashMap<u32, (u32, Vec<u8>)>;

unsafe extern "C" fn store_prop(
    handle: LV2_State_Handle,
    key: u32,
    value: *const c_void,
    size: usize,
    type_: u32,
    _flags: u32,
) -> LV2_State_Status {
    // SAFETY: `handle` is the `StateProps` the test passed to `save`; `value` holds `size`
    // bytes (LV2 state).
    unsafe {
        let props = &mut *handle.cast::<StateProps>();
        let bytes = std::slice::from_raw_parts(value.cast::<u8>(), size).to_vec();
        props.insert(key, (type_, bytes));
    }
    STATE_SUCCESS
}

unsafe extern "C" fn retrieve_prop(
    handle: LV2_State_Handle,
    key: u32,
    size: *mut usize,
    type_: *mut u32,
    flags: *mut u32,
) -> *const c_void {
    // SAFETY: `handle` is the `StateProps` the test passed to `restore`, alive during it;
    // the out-pointers are the plugin's valid locals.
    unsafe {
        let props = &*handle.cast::<StateProps>();
        match props.get(&key) {
            Some((t, bytes)) => {
                *size = bytes.len();
                *type_ = *t;
                *flags = u32::from(
                    LV2_State_Flags::LV2_STATE_IS_POD | LV2_State_Flags::LV2_STATE_IS_PORTABLE,
                );
                bytes.as_ptr().cast()
            }
            None => ptr::null(),
        }
    }
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
        Self::instantiate(variant, indices, connect, None)
    }

    /// Like [`Host::new`], with a `urid:map` feature (so with state).
    fn with_map(variant: Variant) -> Self {
        let indices = variant
            .ports()
            .map(|p| (p.symbol(variant).to_owned(), port_index(variant, p)))
            .collect();
        Self::instantiate(variant, indices, true, Some(UridMap::new()))
    }

    fn instantiate(
        variant: Variant,
        indices: HashMap<String, u32>,
        connect: bool,
        map: Option<Box<UridMap>>,
    ) -> Self {
        let index = Variant::ALL.iter().position(|v| *v == variant).unwrap() as u32;
        // SAFETY: `lv2_descriptor` returns a pointer into a `static` (or null, checked).
        let descriptor = unsafe { lv2_descriptor(index).as_ref() }.expect("descriptor");
        let features: [*const LV2_Feature; 2] = [
            map.as_ref()
                .map_or(ptr::null(), |m| ptr::from_ref(&m.feature)),
            ptr::null(),
        ];
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
            map,
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

    /// The plugin's `state:interface`.
    fn state_interface(&self) -> &'static LV2_State_Interface {
        // SAFETY: a C string literal; the plugin returns null or a pointer to a static.
        let iface = unsafe {
            (self.descriptor.extension_data.unwrap())(lv2_sys::LV2_STATE__interface.as_ptr().cast())
        };
        // SAFETY: non-null means our `STATE_INTERFACE` static.
        unsafe { iface.cast::<LV2_State_Interface>().as_ref() }.expect("state:interface")
    }

    /// Save the plugin's state: its status and the properties it stored.
    fn save_state(&self) -> (LV2_State_Status, StateProps) {
        let mut props = StateProps::new();
        let features: [*const LV2_Feature; 1] = [ptr::null()];
        // SAFETY: a live handle, our store callback and its `StateProps` handle.
        let status = unsafe {
            (self.state_interface().save.unwrap())(
                self.handle,
                Some(store_prop),
                ptr::from_mut(&mut props).cast(),
                0,
                features.as_ptr(),
            )
        };
        (status, props)
    }

    /// Restore `props` into the plugin; its status.
    fn restore_state(&self, props: &StateProps) -> LV2_State_Status {
        let features: [*const LV2_Feature; 1] = [ptr::null()];
        // SAFETY: a live handle, our retrieve callback and its `StateProps` handle.
        unsafe {
            (self.state_interface().restore.unwrap())(
                self.handle,
                Some(retrieve_prop),
                ptr::from_ref(props).cast_mut().cast(),
                0,
                features.as_ptr(),
            )
        }
    }

    /// The URID of `uri` in this host's map.
    fn urid(&self, uri: &CStr) -> u32 {
        self.map.as_ref().expect("a host with urid:map").urid(uri)
    }

    /// Properties holding a curve, as a state saved by a host would.
    fn curve_props(&self, name: &str, text: &str) -> StateProps {
        let string = self.urid(c"http://lv2plug.in/ns/ext/atom#String");
        let with_nul = |s: &str| CString::new(s).unwrap().into_bytes_with_nul();
        StateProps::from([
            (
                self.urid(STATE_CUSTOM_LOAD_NAME_C),
                (string, with_nul(name)),
            ),
            (self.urid(STATE_CUSTOM_LOAD_C), (string, with_nul(text))),
        ])
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
        let host = Host::with_map(variant);
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

        // A curve restored while running ("Custom (imported)" selected): the runs that pick
        // it up and swap in its chain do not allocate either (restore itself may).
        set_loud_load(&host, sourcery_dsp::presets::HeadphoneSlot::CUSTOM);
        host.raw_run(4096);
        assert_eq!(
            host.restore_state(&host.curve_props("c.zma", IEM_ZMA)),
            STATE_SUCCESS
        );
        let before = allocations();
        let start = std::time::Instant::now();
        let mut runs = 0;
        // Until the curve's chain is built (on the worker) and swapped in.
        // SAFETY: a live handle, not in use by another call.
        while unsafe { plugin(host.handle) }
            .unwrap()
            .engine
            .rebuild_pending()
            || runs < 4
        {
            assert!(
                start.elapsed().as_secs() < 10,
                "{variant:?}: the curve never came in"
            );
            host.raw_run(4096);
            runs += 1;
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(
            allocations() - before,
            0,
            "{variant:?}: run() allocated after a restore"
        );
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

// ---------------------------------------------------------------------------------------
// State: the imported impedance curve.

/// An IEM-like impedance curve that swings from 8 to 40 Ω, as a REW `.zma` file.
const IEM_ZMA: &str = "* an IEM, \"measured\"\n20 8.1 0\n500 9.0 5\n1000 12.0 20\n3000 40.0 60\n6000 20.0 -40\n10000 9.5 -10\n20000 9.0 0\n";

/// Settings where the load matters: a 75 Ω source (level matched at 1 kHz, as by default).
fn set_loud_load(host: &Host, headphone: sourcery_dsp::presets::HeadphoneSlot) {
    host.set(ParamId::ZOutCustom, 1.0);
    host.set(ParamId::ZOutOhms, 75.0);
    host.set(ParamId::Headphone, headphone.0 as f32);
}

/// Two tones per channel, where the curve's impedance differs most (1 and 3 kHz).
fn two_tones(variant: Variant, frames: usize) -> Vec<Vec<f32>> {
    let a = sine(1000.0, frames, 0.2);
    let b = sine(3000.0, frames, 0.2);
    let mix: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
    vec![mix; variant.channels()]
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

#[test]
fn state_saves_and_restores_the_imported_curve_which_the_engine_uses() {
    use sourcery_dsp::presets::HeadphoneSlot;
    for variant in Variant::ALL {
        let first = Host::with_map(variant);
        // Nothing imported: nothing saved.
        let (status, props) = first.save_state();
        assert_eq!((status, props.len()), (STATE_SUCCESS, 0));

        // Import through a restore (as a host loading a session or a preset does), then run
        // with the headphone set to "Custom (imported)".
        let props = first.curve_props("my iem.zma", IEM_ZMA);
        assert_eq!(first.restore_state(&props), STATE_SUCCESS);
        set_loud_load(&first, HeadphoneSlot::CUSTOM);
        let input = two_tones(variant, 24_000);
        let output = first.process_chunked(&input, &[1000]);

        // Saved: the name and the text verbatim, as NUL-terminated atom:Strings.
        let (status, saved) = first.save_state();
        assert_eq!(status, STATE_SUCCESS);
        assert_eq!(saved, props, "{variant:?}: saved state");

        // A new instance given that state produces the same output, sample for sample.
        let second = Host::with_map(variant);
        assert_eq!(second.restore_state(&saved), STATE_SUCCESS);
        set_loud_load(&second, HeadphoneSlot::CUSTOM);
        let again = second.process_chunked(&input, &[1000]);
        assert_eq!(
            max_abs_diff(&output, &again),
            0.0,
            "{variant:?}: restored output"
        );

        // The curve is what made the output: "Resistive" and "Custom" without a curve (its
        // fallback resistor) both differ from it, by far more than rounding.
        let skip = settle_frames(&first);
        let tail =
            |o: &[Vec<f32>]| -> Vec<Vec<f32>> { o.iter().map(|c| c[skip..].to_vec()).collect() };
        let resistive = Host::with_map(variant);
        set_loud_load(&resistive, HeadphoneSlot::RESISTIVE);
        let resistive = resistive.process_chunked(&input, &[1000]);
        let no_curve = Host::with_map(variant);
        set_loud_load(&no_curve, HeadphoneSlot::CUSTOM);
        let no_curve = no_curve.process_chunked(&input, &[1000]);
        let vs_resistive = max_abs_diff(&tail(&output), &tail(&resistive));
        let vs_fallback = max_abs_diff(&tail(&output), &tail(&no_curve));
        let (curve_db, resistive_db) = (rms_db(&output[0][skip..]), rms_db(&resistive[0][skip..]));
        println!(
            "{variant:?}: RMS {curve_db:.2} dB with the curve, {resistive_db:.2} dB resistive; \
             max |Δ| {vs_resistive:.4} vs resistive, {vs_fallback:.4} vs the fallback"
        );
        assert!(
            vs_resistive > 0.01 && vs_fallback > 0.01,
            "{variant:?}: the curve changed nothing"
        );
    }
}

#[test]
fn an_invalid_or_mistyped_state_is_refused_and_keeps_the_curve() {
    let host = Host::with_map(Variant::Stereo);
    let good = host.curve_props("a.zma", IEM_ZMA);
    assert_eq!(host.restore_state(&good), STATE_SUCCESS);

    // A curve that does not parse: refused, the previous curve kept.
    let bad = host.curve_props("b.zma", "20 abc 0\n");
    assert_eq!(host.restore_state(&bad), STATE_ERR_UNKNOWN);
    assert_eq!(host.save_state().1, good);

    // A wrong atom type, or one property without the other.
    let mut mistyped = good.clone();
    let key = host.urid(STATE_CUSTOM_LOAD_C);
    mistyped.get_mut(&key).unwrap().0 = host.urid(c"http://lv2plug.in/ns/ext/atom#Chunk");
    assert_eq!(host.restore_state(&mistyped), STATE_ERR_BAD_TYPE);
    let mut half = good.clone();
    half.remove(&key);
    assert_eq!(host.restore_state(&half), STATE_ERR_NO_PROPERTY);
    assert_eq!(host.save_state().1, good);

    // A state without a curve (a factory preset) keeps it.
    assert_eq!(host.restore_state(&StateProps::new()), STATE_SUCCESS);
    assert_eq!(host.save_state().1, good);
}

#[test]
fn without_urid_map_the_plugin_runs_with_no_state() {
    let host = Host::new(Variant::Stereo);
    assert!(host.map.is_none());
    assert_eq!(host.save_state(), (STATE_SUCCESS, StateProps::new()));
    assert_eq!(host.restore_state(&StateProps::new()), STATE_ERR_NO_FEATURE);
    let input = test_signal(Variant::Stereo, 4800);
    assert_ne!(host.process(&input), input);
}
