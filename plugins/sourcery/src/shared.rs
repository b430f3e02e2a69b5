//! What the audio thread and the editor share, lock-free: the level meters, the A/B
//! comparison's switches and the host's sample rate. Everything here is an atomic; the
//! audio thread never waits on the editor.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use sourcery_dsp::meter::Meters;
use sourcery_dsp::presets::DeviceSlot;

/// Shared between one plugin instance's audio thread and its editor.
pub struct Shared {
    /// Input and output levels; written by the audio thread only while the editor is open.
    pub meters: Meters,
    compare_active: AtomicBool,
    play_reference: AtomicBool,
    reference_device: AtomicUsize,
    sample_rate: AtomicU32,
    reference_gain_db: AtomicU32,
    /// The most the output limiter took off (dB, f32 bits) since the editor last read it.
    limiter_db: AtomicU32,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            meters: Meters::default(),
            compare_active: AtomicBool::new(false),
            play_reference: AtomicBool::new(false),
            reference_device: AtomicUsize::new(DeviceSlot::IDEAL.0),
            sample_rate: AtomicU32::new(48_000.0f32.to_bits()),
            reference_gain_db: AtomicU32::new(0.0f32.to_bits()),
            limiter_db: AtomicU32::new(0.0f32.to_bits()),
        }
    }
}

impl Shared {
    /// Whether the reference voicing runs beside the main one (A/B or ABX in progress).
    pub fn compare_active(&self) -> bool {
        self.compare_active.load(Ordering::Acquire)
    }

    pub fn set_compare_active(&self, active: bool) {
        self.compare_active.store(active, Ordering::Release);
    }

    /// Whether the output is the reference (B) rather than the chosen voicing (A).
    pub fn play_reference(&self) -> bool {
        self.play_reference.load(Ordering::Acquire)
    }

    pub fn set_play_reference(&self, reference: bool) {
        self.play_reference.store(reference, Ordering::Release);
    }

    /// The reference voicing (B); "Ideal" unless the user picks another.
    pub fn reference_device(&self) -> DeviceSlot {
        DeviceSlot(self.reference_device.load(Ordering::Acquire))
    }

    pub fn set_reference_device(&self, device: DeviceSlot) {
        let device = device.0.min(sourcery_dsp::params::DEVICE_LABELS.len() - 1);
        self.reference_device.store(device, Ordering::Release);
    }

    /// The host's sample rate (set when the plugin is activated; 48 kHz before).
    pub fn sample_rate(&self) -> f32 {
        f32::from_bits(self.sample_rate.load(Ordering::Acquire))
    }

    pub fn set_sample_rate(&self, rate: f32) {
        self.sample_rate.store(rate.to_bits(), Ordering::Release);
    }

    /// The gain (dB) the comparison gives the reference so that it plays at the chosen
    /// voicing's level (written by the audio thread while comparing).
    pub fn reference_gain_db(&self) -> f32 {
        f32::from_bits(self.reference_gain_db.load(Ordering::Acquire))
    }

    pub fn set_reference_gain_db(&self, db: f32) {
        self.reference_gain_db
            .store(db.to_bits(), Ordering::Release);
    }

    /// Record that the output limiter took off `db` (≥ 0; the audio thread, each block
    /// while the editor is open). Positive `f32`s order like their bits, so the largest
    /// is kept with `fetch_max`.
    pub fn note_limiter_db(&self, db: f32) {
        if db > 0.0 {
            self.limiter_db.fetch_max(db.to_bits(), Ordering::AcqRel);
        }
    }

    /// The most the limiter took off since the last call (dB; 0: nothing), and start again.
    pub fn take_limiter_db(&self) -> f32 {
        f32::from_bits(self.limiter_db.swap(0.0f32.to_bits(), Ordering::AcqRel))
    }
}
