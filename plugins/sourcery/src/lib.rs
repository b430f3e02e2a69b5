//! Sourcery as a CLAP and VST3 plugin (nice-plug). All DSP lives in `sourcery_dsp`; this
//! crate maps host parameters to [`sourcery_dsp::Settings`] and reports latency.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;
use sourcery_dsp::{Engine, ParamValues, Settings};

pub mod editor;
pub mod params;

use params::SourceryParams;

/// The plugin instance.
pub struct Sourcery {
    params: Arc<SourceryParams>,
    engine: Engine,
    /// Parameter values last given to the engine.
    applied: ParamValues,
    /// Latency last reported to the host, in samples.
    reported_latency: u32,
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
        Self {
            engine: Engine::with_custom_load(
                &Settings::from_values(&applied),
                params.custom_load.clone(),
            ),
            params,
            applied,
            reported_latency: 0,
        }
    }
}

impl Sourcery {
    /// Give the engine the current parameter values if they changed. Does not allocate.
    fn sync_settings(&mut self) {
        let values = self.params.values();
        if values != self.applied {
            self.applied = values;
            self.engine.set_settings(&Settings::from_values(&values));
        }
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
        self.engine = Engine::with_custom_load(
            &Settings::from_values(&self.applied),
            self.params.custom_load.clone(),
        );
        self.engine.prepare(
            buffer_config.sample_rate,
            buffer_config.max_buffer_size as usize,
            channels,
        );
        self.reported_latency = self.engine.latency_samples() as u32;
        context.set_latency_samples(self.reported_latency);
        true
    }

    fn reset(&mut self) {
        self.engine.reset();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        // State loads do not re-run `activate`, so parameters are re-read every block.
        self.sync_settings();
        self.engine.process(buffer.as_slice());
        let latency = self.engine.latency_samples() as u32;
        if latency != self.reported_latency {
            self.reported_latency = latency;
            context.set_latency_samples(latency);
        }
        ProcessStatus::Normal
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

nice_export_clap!(Sourcery);
nice_export_vst3!(Sourcery);
