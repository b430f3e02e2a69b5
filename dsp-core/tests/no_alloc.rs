//! `Engine::process`, `set_settings` and `reset` never allocate or free: a counting global
//! allocator (this test binary only) counts allocations and frees made on the current
//! thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use sourcery_dsp::amp::GainStep;
use sourcery_dsp::dac::r2r::{Coding, LadderConfig};
use sourcery_dsp::dac::{DacMode, OsFilter};
use sourcery_dsp::load::{CustomLoad, LoadSource};
use sourcery_dsp::presets::{DeviceSlot, HeadphoneSlot};
use sourcery_dsp::settings::ChainRequest;
use sourcery_dsp::{Engine, Settings};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    static DEALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        DEALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

fn deallocations() -> u64 {
    DEALLOCATIONS.with(Cell::get)
}

#[test]
fn counting_allocator_sees_allocations() {
    // The check below can only fail if the counter works.
    let before = allocations();
    let v = std::hint::black_box(vec![1u8; 100]);
    assert!(allocations() > before);
    drop(v);
}

#[test]
fn process_never_allocates() {
    for &rate in &[44_100.0f32, 48_000.0, 96_000.0, 192_000.0, 384_000.0] {
        for &channels in &[1usize, 2] {
            let mut engine = Engine::new(&Settings::default());
            engine.prepare(rate, 4096, channels);
            let mut left = vec![0.25f32; 16_384];
            let mut right = left.clone();
            left[3] = f32::NAN;
            // Realtime changes: trim, bypass, and the amp's volume, gain and level mode.
            let mut changed = Settings {
                output_trim_db: -7.0,
                bypass: true,
                volume_pct: 90.0,
                gain: GainStep::High,
                level_match: false,
                ..Settings::default()
            };
            // And the PEQ: a gain glide, a type change (a fade and a switch) and the preamp.
            changed.peq.preamp_db = -6.0;
            changed.peq.bands[2].gain_db = 9.0;
            changed.peq.bands[4].kind = sourcery_dsp::peq::FilterType::HighPass;
            let before = allocations();
            for &n in &[1usize, 7, 64, 512, 4096, 16_384, 333] {
                let mut chans: [&mut [f32]; 2] = [&mut left[..n], &mut right[..n]];
                engine.process(&mut chans[..channels]);
                engine.set_settings(&changed);
                engine.process(&mut chans[..channels]);
                engine.set_settings(&Settings::default());
            }
            engine.reset();
            assert_eq!(
                allocations(),
                before,
                "allocated in process at {rate} Hz, {channels} ch"
            );
        }
    }
}

/// A structural change (OS → NOS, another filter, a custom ladder) is built by the worker
/// thread; the audio thread only sends the request, receives the stage, swaps it in and
/// hands the old one back — none of which allocates or frees on this thread.
#[test]
fn structural_changes_never_allocate_on_the_audio_thread() {
    let custom = CustomLoad::default();
    let mut engine = Engine::with_custom_load(&Settings::default(), custom.clone());
    engine.prepare(44_100.0, 512, 2);
    let mut left = vec![0.1f32; 512];
    let mut right = left.clone();
    let targets = [
        Settings {
            dac_mode: DacMode::Nos,
            ..Settings::default()
        },
        Settings {
            os_filter: Some(OsFilter::Ak4493ShortDelaySlow),
            ..Settings::default()
        },
        Settings {
            custom_ladder: Some(LadderConfig {
                bits: 16,
                coding: Coding::SignMagnitude,
                ..LadderConfig::default()
            }),
            ..Settings::default()
        },
        // A new load and output impedance (an IIR designed on the worker).
        Settings {
            headphone: HeadphoneSlot::by_id("sennheiser-hd600").unwrap(),
            z_out_custom: true,
            z_out_ohms: 75.0,
            ..Settings::default()
        },
        // The imported curve (a FIR designed on the worker); the curve is imported on
        // another thread while the engine runs, as an editor would.
        Settings {
            headphone: HeadphoneSlot::CUSTOM,
            z_out_custom: true,
            z_out_ohms: 10.0,
            ..Settings::default()
        },
        Settings::default(),
    ];
    // The chain a target asks for, with the custom curve's generation left out.
    let plain = |mut c: ChainRequest| {
        if let LoadSource::Custom { generation, .. } = &mut c.load {
            *generation = 0;
        }
        c
    };
    let mut before = allocations();
    let mut frees_before = deallocations();
    for target in &targets {
        if target.headphone == HeadphoneSlot::CUSTOM {
            // Spawning and joining allocate on this thread: not the engine's doing.
            let (a, f) = (allocations(), deallocations());
            let custom = custom.clone();
            std::thread::spawn(move || {
                let zma = "20 300 1\n95 500 30\n1000 301 -2\n20000 306 10\n";
                custom.import("editor.zma", zma).expect("valid");
            })
            .join()
            .expect("import thread");
            before += allocations() - a;
            frees_before += deallocations() - f;
        }
        engine.set_settings(target);
        let start = std::time::Instant::now();
        while engine.rebuild_pending() {
            engine.process(&mut [&mut left[..], &mut right[..]]);
            std::thread::sleep(std::time::Duration::from_millis(1));
            assert!(start.elapsed().as_secs() < 30, "rebuild did not finish");
        }
        let running = engine.running_request().expect("a chain");
        assert_eq!(plain(running), plain(target.chain_request(0)));
        if let LoadSource::Custom { generation, .. } = running.load {
            assert_eq!(
                generation,
                custom.generation(),
                "the imported curve is in use"
            );
        }
    }
    assert_eq!(allocations(), before, "allocated on the audio thread");
    assert_eq!(deallocations(), frees_before, "freed on the audio thread");
}

/// The A/B comparator: activating, switching A/B, changing the reference device (a rebuild
/// on the reference's worker, swapped in on this thread) and deactivating allocate and free
/// nothing on the audio thread.
#[test]
fn comparator_never_allocates_on_the_audio_thread() {
    use sourcery_dsp::compare::Comparator;

    let main_settings = Settings::default();
    let mut main = Engine::new(&main_settings);
    main.prepare(48_000.0, 512, 2);
    let mut comp = Comparator::new(
        &Settings {
            device: DeviceSlot(5),
            ..main_settings
        },
        CustomLoad::default(),
    );
    comp.prepare(48_000.0, 512, 2);
    let mut left = vec![0.1f32; 1500];
    let mut right = left.clone();
    let before = allocations();
    let frees_before = deallocations();
    let mut run = |main: &mut Engine, comp: &mut Comparator, active: bool, play: bool| {
        comp.process(main, &mut [&mut left[..], &mut right[..]], active, play);
    };
    comp.set_settings(&main_settings, DeviceSlot(5));
    run(&mut main, &mut comp, false, false);
    // Activate, play B, switch back and forth.
    for k in 0..8 {
        run(&mut main, &mut comp, true, k % 2 == 1);
    }
    assert!(comp.is_running());
    // Change the reference device while running: wait for the rebuild and the swap.
    for device in [1usize, 2, 0].map(DeviceSlot) {
        comp.set_settings(&main_settings, device);
        let start = std::time::Instant::now();
        loop {
            run(&mut main, &mut comp, true, true);
            if !comp.rebuild_pending() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
            assert!(start.elapsed().as_secs() < 30, "rebuild did not finish");
        }
        assert_eq!(comp.reference().settings().device, device);
        for k in 0..4 {
            run(&mut main, &mut comp, true, k % 2 == 0);
        }
    }
    // Deactivate while playing B, and a main setting change on the way.
    comp.set_settings(
        &Settings {
            output_trim_db: -3.0,
            ..main_settings
        },
        DeviceSlot(0),
    );
    for _ in 0..4 {
        run(&mut main, &mut comp, false, true);
    }
    assert!(!comp.is_running());
    comp.reset();
    assert_eq!(allocations(), before, "allocated on the audio thread");
    assert_eq!(deallocations(), frees_before, "freed on the audio thread");
}
