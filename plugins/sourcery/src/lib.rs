//! Sourcery as a CLAP and VST3 plugin (nice-plug). All DSP lives in `sourcery_dsp`; this
//! crate maps host parameters to [`sourcery_dsp::Settings`] and reports latency.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;
use sourcery_dsp::compare::Comparator;
use sourcery_dsp::{Engine, ParamValues, Settings};

pub mod clap_entry;
pub mod clap_presets;
pub mod editor;
pub mod params;
pub mod shared;

use params::SourceryParams;

/// The plugin instance.
pub struct Sourcery {
    params: Arc<SourceryParams>,
    engine: Engine,
    /// The A/B comparison's reference engine, run beside `engine` only while comparing.
    comparator: Comparator,
    /// Parameter values last given to the engine, and their settings.
    applied: ParamValues,
    settings: Settings,
    sample_rate: f32,
    /// Latency last reported to the host, in samples.
    reported_latency: u32,
    /// Set when a CLAP host made this instance: latency is reported through it, from
    /// inside `activate`, without the restart nice-plug would ask for.
    clap: Option<Arc<clap_entry::ClapLink>>,
}

/// Read the user's presets (`~/.config/sourcery/{devices,headphones}/*.toml`) once per
/// process, before the first engine; bad files are logged and skipped.
fn install_user_presets() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for error in sourcery_dsp::presets::install_from_config_dir() {
            nice_log!("Sourcery: user preset skipped: {error}");
        }
    });
}

impl Default for Sourcery {
    fn default() -> Self {
        install_user_presets();
        let params = Arc::new(SourceryParams::default());
        let applied = params.values();
        let settings = Settings::from_values(&applied);
        Self {
            engine: Engine::with_custom_load(&settings, params.custom_load.clone()),
            comparator: Comparator::new(&settings, params.custom_load.clone()),
            params,
            applied,
            settings,
            sample_rate: 48_000.0,
            reported_latency: 0,
            clap: clap_entry::take_link(),
        }
    }
}

impl Sourcery {
    /// Give the engine the current parameter values if they changed. Does not allocate.
    fn sync_settings(&mut self) {
        let values = self.params.values();
        if values != self.applied {
            self.applied = values;
            self.settings = Settings::from_values(&values);
            self.engine.set_settings(&self.settings);
        }
        let reference = self.params.shared.reference_device();
        self.comparator.set_settings(&self.settings, reference);
    }
}

impl Plugin for Sourcery {
    const NAME: &'static str = "Sourcery";
    const VENDOR: &'static str = "Sourcery";
    const URL: &'static str = "https://sourcery.audio";
    const EMAIL: &'static str = "dev@sourcery.audio";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    /// A parameter change inside a host's block takes effect at its sample: the wrapper
    /// splits the block there (VST3 hosts such as Ardour send in-block offsets; without
    /// this a change applied at the block's start, up to a block early).
    const SAMPLE_ACCURATE_AUTOMATION: bool = true;

    type Editor = nice_plug_egui::EguiEditor<editor::SourceryEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone())
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = audio_io_layout
            .main_output_channels
            .map_or(2, NonZeroU32::get) as usize;
        self.applied = self.params.values();
        self.settings = Settings::from_values(&self.applied);
        self.sample_rate = buffer_config.sample_rate;
        self.params.shared.set_sample_rate(self.sample_rate);
        // The engines (and their workers) live as long as the instance; a re-activation
        // with nothing changed keeps their chains.
        self.engine.set_settings_for_prepare(&self.settings);
        let max_block = buffer_config.max_buffer_size as usize;
        self.engine
            .prepare(buffer_config.sample_rate, max_block, channels);
        // Offline (a CLAP host's `render` offline, a VST3 host's offline mode), structural
        // changes are built in the block where they arrive, so a bounce equals the offline
        // renderer.
        let offline = buffer_config.process_mode == ProcessMode::Offline;
        self.engine.set_offline(offline);
        let mut reference = self.settings;
        reference.device = self.params.shared.reference_device();
        self.comparator.restart(&reference);
        self.comparator
            .prepare(buffer_config.sample_rate, max_block, channels);
        self.comparator.set_offline(offline);
        if self.params.shared.compare_active() {
            // Comparing already: start the reference now, so the latency reported here is
            // the final one (no re-report, no fade at the first block).
            self.comparator
                .start_running(&self.engine, &self.settings, reference.device);
        }
        self.reported_latency = self.comparator.latency_samples(&self.engine) as u32;
        match &self.clap {
            Some(link) => link.report_latency(self.reported_latency),
            None => context.set_latency_samples(self.reported_latency),
        }
        true
    }

    fn reset(&mut self) {
        self.engine.reset();
        self.comparator.reset();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // State loads do not re-run `activate`, so parameters are re-read every block.
        self.sync_settings();
        let shared = &self.params.shared;
        // Levels are measured only while someone can see them.
        let metering = self.params.editor_state.is_open();
        let channels = buffer.as_slice();
        if metering {
            shared
                .meters
                .input
                .update(&views(channels), self.sample_rate);
        }
        let comparing = shared.compare_active();
        self.comparator.process(
            &mut self.engine,
            channels,
            comparing,
            shared.play_reference(),
        );
        if comparing {
            shared.set_reference_gain_db(self.comparator.reference_gain_db());
        }
        if metering {
            shared
                .meters
                .output
                .update(&views(channels), self.sample_rate);
            shared.note_limiter_db(self.engine.take_limiter_reduction_db());
        }
        // The latency is constant at a rate (every voicing is padded to the longest), so
        // this is a guard: should it ever move, the host is asked to restart and reads the
        // new value when it re-activates.
        let latency = self.comparator.latency_samples(&self.engine) as u32;
        if latency != self.reported_latency {
            self.reported_latency = latency;
            if let Some(link) = &self.clap {
                link.set_pending_latency(latency);
            }
            context.set_latency_samples(latency);
        }
        ProcessStatus::Normal
    }
}

/// Read-only views of up to two channels, for the meters.
fn views<'a>(channels: &'a [&'a mut [f32]]) -> ArrayVec<'a> {
    let mut out = ArrayVec::default();
    for (slot, channel) in out.slots.iter_mut().zip(channels) {
        *slot = channel;
        out.len += 1;
    }
    out
}

/// Up to two channel slices without allocating.
#[derive(Default)]
struct ArrayVec<'a> {
    slots: [&'a [f32]; 2],
    len: usize,
}

impl<'a> std::ops::Deref for ArrayVec<'a> {
    type Target = [&'a [f32]];
    fn deref(&self) -> &Self::Target {
        &self.slots[..self.len]
    }
}

impl ClapPlugin for Sourcery {
    const CLAP_ID: &'static str = "audio.sourcery.sourcery";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Hear your headphone as it would sound on a specific DAC/amp");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Utility,
    ];
}

impl Vst3Plugin for Sourcery {
    const VST3_CLASS_ID: [u8; 16] = *b"SourceryDacAmpV1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Tools];
}

nice_export_vst3!(Sourcery);
