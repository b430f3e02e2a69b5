//! A small CLAP host for tests, built on `clack-host`: it loads a built `.clap` file the way a
//! DAW does (entry → factory → instance), selects a mono or stereo port configuration,
//! activates, and runs `process()` on a dedicated audio thread, with parameter events, state
//! save/load and the latency extension.
//!
//! # Threads
//!
//! The [`ClapInstance`] lives on the thread that created it (the CLAP main thread; it is not
//! `Send`). While active, audio is processed on a separate audio thread owned by the instance,
//! as in a DAW; [`ClapInstance::process`] and [`ClapInstance::process_signal`] hand the work
//! to it and wait. Main-thread callbacks the plugin asks for (`request_callback`) are run
//! after each call.
//!
//! # CLAP parameter values in nice-plug
//!
//! nice-plug (like nih-plug) does not report plain values to CLAP:
//! * continuous parameters (float) have the CLAP range `0.0..=1.0`, the **normalized** value
//!   (which includes any skew of the range);
//! * stepped parameters (bool, int, enum) have the range `0.0..=step_count`, the index of the
//!   step (`plain − min` for ints, 0/1 for bools, the label index for enums).
//!
//! [`ParamInfo::clap_from_normalized`] converts a normalized value. To set a float parameter
//! to a plain value regardless of its skew, let the plugin parse it:
//! [`ClapInstance::text_to_value`] (e.g. `"-6"` or `"-6 dB"`). Parameter ids are hashes of the
//! string ids, see [`param_id`].

use std::ffi::CString;
use std::io::Cursor;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::thread::{JoinHandle, ThreadId};

use clack_extensions::audio_ports::{
    AudioPortInfoBuffer, AudioPortRescanFlags, HostAudioPorts, HostAudioPortsImpl, PluginAudioPorts,
};
use clack_extensions::audio_ports_config::{
    AudioPortsConfigBuffer, HostAudioPortsConfig, HostAudioPortsConfigImpl, PluginAudioPortsConfig,
};
use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
pub use clack_extensions::params::ParamInfoFlags;
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamRescanFlags, PluginParams,
};
use clack_extensions::preset_discovery::prelude::{
    Flags as PresetFlags, HostPresetLoad, IndexerImpl, Location, LocationInfo,
    MetadataReceiverImpl, PluginPresetLoad, PresetDiscoveryFactory, Provider, Soundpack, Timestamp,
    UniversalPluginId,
};
use clack_extensions::preset_discovery::HostPresetLoadImpl;
use clack_extensions::render::{PluginRender, RenderMode};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;

/// CLAP parameter id nice-plug derives from a parameter's string id (a 31-bit hash).
pub fn param_id(string_id: &str) -> u32 {
    let mut h: u32 = 0;
    for c in string_id.bytes() {
        h = h.wrapping_mul(31).wrapping_add(u32::from(c));
    }
    h & !(1 << 31)
}

/// The CLAP plugin ids in a `.clap` file's plugin factory.
pub fn plugin_ids(path: &Path) -> Result<Vec<String>, String> {
    let entry = load_entry(path)?;
    let factory = entry
        .get_plugin_factory()
        .ok_or_else(|| format!("{} has no plugin factory", path.display()))?;
    Ok(factory
        .plugin_descriptors()
        .filter_map(|d| d.id().map(|id| id.to_string_lossy().into_owned()))
        .collect())
}

fn load_entry(path: &Path) -> Result<PluginEntry, String> {
    // SAFETY: loading a library runs its initialisers and trusts its `clap_entry` symbol;
    // this harness exists to load the plugin under test, which is built from this workspace.
    unsafe { PluginEntry::load(path) }
        .map_err(|e| format!("cannot load CLAP entry {}: {e}", path.display()))
}

/// Parameter description as reported by the CLAP params extension.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInfo {
    /// CLAP parameter id (nice-plug: [`param_id`] of the string id).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Module (group path), empty for top-level parameters.
    pub module: String,
    /// Minimum CLAP value (nice-plug: always 0).
    pub min: f64,
    /// Maximum CLAP value (nice-plug: 1 for continuous parameters, else the step count).
    pub max: f64,
    /// Default CLAP value.
    pub default: f64,
    /// CLAP flags.
    pub flags: ParamInfoFlags,
}

impl ParamInfo {
    /// Whether the parameter is stepped (bool, int, enum).
    pub fn is_stepped(&self) -> bool {
        self.flags.contains(ParamInfoFlags::IS_STEPPED)
    }

    /// Number of steps of a stepped parameter (its CLAP maximum), `None` if continuous.
    pub fn step_count(&self) -> Option<u32> {
        self.is_stepped().then(|| self.max.round() as u32)
    }

    /// CLAP value for a normalized value in `0..=1` (nice-plug convention; stepped
    /// parameters are rounded to the nearest step).
    pub fn clap_from_normalized(&self, normalized: f64) -> f64 {
        let v = self.min + normalized.clamp(0.0, 1.0) * (self.max - self.min);
        if self.is_stepped() {
            v.round()
        } else {
            v
        }
    }

    /// Normalized value in `0..=1` of a CLAP value.
    pub fn normalized_from_clap(&self, value: f64) -> f64 {
        if self.max > self.min {
            (value - self.min) / (self.max - self.min)
        } else {
            0.0
        }
    }
}

/// A mono/stereo port configuration offered through the audio-ports-config extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Configuration id (for `select`).
    pub id: u32,
    /// Display name.
    pub name: String,
    /// Channels of the main input port (0 if none).
    pub main_input_channels: u32,
    /// Channels of the main output port (0 if none).
    pub main_output_channels: u32,
}

// ---------------------------------------------------------------------------------------
// Host side of the CLAP interface.

struct Host;

/// Thread-safe host state the plugin can poke from any thread.
struct HostShared {
    main_thread: ThreadId,
    callback_requested: AtomicBool,
    restart_requested: AtomicBool,
    process_requested: AtomicBool,
    flush_requested: AtomicBool,
    latency_changed: AtomicBool,
    params_rescanned: AtomicBool,
    /// What the plugin told `clap_host_preset_load`: `Ok(load key or location)` for
    /// `loaded`, `Err(message)` for `on_error`.
    preset_reports: std::sync::Mutex<Vec<Result<String, String>>>,
}

impl HostShared {
    fn new() -> Self {
        Self {
            main_thread: std::thread::current().id(),
            callback_requested: AtomicBool::new(false),
            restart_requested: AtomicBool::new(false),
            process_requested: AtomicBool::new(false),
            flush_requested: AtomicBool::new(false),
            latency_changed: AtomicBool::new(false),
            params_rescanned: AtomicBool::new(false),
            preset_reports: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl SharedHandler<'_> for HostShared {
    fn request_restart(&self) {
        self.restart_requested.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {
        self.process_requested.store(true, Ordering::SeqCst);
    }
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

impl HostLogImpl for HostShared {
    fn log(&self, severity: LogSeverity, message: &str) {
        eprintln!("[plugin log, {severity}] {message}");
    }
}

impl HostParamsImplShared for HostShared {
    fn request_flush(&self) {
        self.flush_requested.store(true, Ordering::SeqCst);
    }
}

thread_local! {
    static IS_AUDIO_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl HostThreadCheckImpl for HostShared {
    fn is_main_thread(&self) -> bool {
        std::thread::current().id() == self.main_thread
    }
    fn is_audio_thread(&self) -> bool {
        IS_AUDIO_THREAD.with(std::cell::Cell::get)
    }
}

/// Main-thread host callbacks; they only record what happened in [`HostShared`].
struct HostMainThread<'a> {
    shared: &'a HostShared,
}

impl<'a> MainThreadHandler<'a> for HostMainThread<'a> {}

impl HostParamsImplMainThread for HostMainThread<'_> {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.shared.params_rescanned.store(true, Ordering::SeqCst);
    }
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostLatencyImpl for HostMainThread<'_> {
    fn changed(&self) {
        self.shared.latency_changed.store(true, Ordering::SeqCst);
    }
}

impl HostPresetLoadImpl for HostMainThread<'_> {
    fn on_error(
        &self,
        _location: Location,
        _load_key: Option<&std::ffi::CStr>,
        _os_error: i32,
        message: Option<&std::ffi::CStr>,
    ) {
        let message = message.map_or_else(String::new, |m| m.to_string_lossy().into_owned());
        self.shared
            .preset_reports
            .lock()
            .unwrap()
            .push(Err(message));
    }
    fn loaded(&self, location: Location, load_key: Option<&std::ffi::CStr>) {
        let what = match (load_key, location) {
            (Some(key), _) => key.to_string_lossy().into_owned(),
            (None, Location::File { path }) => path.to_string_lossy().into_owned(),
            (None, Location::Plugin) => String::new(),
        };
        self.shared.preset_reports.lock().unwrap().push(Ok(what));
    }
}

impl HostStateImpl for HostMainThread<'_> {
    fn mark_dirty(&self) {}
}

impl HostAudioPortsImpl for HostMainThread<'_> {
    fn is_rescan_flag_supported(&self, _flag: AudioPortRescanFlags) -> bool {
        true
    }
    fn rescan(&self, _flags: AudioPortRescanFlags) {}
}

impl HostAudioPortsConfigImpl for HostMainThread<'_> {
    fn rescan(&self) {}
}

impl HostHandlers for Host {
    type Shared<'a> = HostShared;
    type MainThread<'a> = HostMainThread<'a>;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLog>()
            .register::<HostThreadCheck>()
            .register::<HostParams>()
            .register::<HostState>()
            .register::<HostLatency>()
            .register::<HostAudioPorts>()
            .register::<HostAudioPortsConfig>()
            .register::<HostPresetLoad>();
    }
}

// ---------------------------------------------------------------------------------------
// Audio thread.

/// Work for the audio thread. Parameter events are `(CLAP id, CLAP value)` at time 0.
enum Job {
    /// Process `input` (one `Vec` per channel) in blocks following `block_sizes` cyclically;
    /// `events` go into the first block.
    Process {
        input: Vec<Vec<f32>>,
        block_sizes: Vec<usize>,
        events: Vec<(u32, f64)>,
    },
    /// `clap_plugin_params.flush` on the audio thread (the plugin is active).
    Flush(Vec<(u32, f64)>),
    /// `clap_plugin.reset`.
    Reset,
}

struct AudioThread {
    jobs: Sender<Job>,
    replies: Receiver<Result<Vec<Vec<f32>>, String>>,
    handle: JoinHandle<StoppedPluginAudioProcessor<Host>>,
}

fn event_buffer(events: &[(u32, f64)]) -> EventBuffer {
    let mut buffer = EventBuffer::with_capacity(events.len());
    for &(id, value) in events {
        buffer.push(&ParamValueEvent::new(
            0,
            ClapId::new(id),
            Pckn::match_all(),
            value,
        ));
    }
    buffer
}

/// Buffers preallocated at activation, owned by the audio thread.
struct AudioBuffers {
    inputs: Vec<Vec<f32>>,
    outputs: Vec<Vec<f32>>,
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    out_events: EventBuffer,
    steady_time: u64,
}

impl AudioBuffers {
    fn new(channels: usize, max_frames: usize) -> Self {
        Self {
            inputs: vec![vec![0.0; max_frames]; channels],
            outputs: vec![vec![0.0; max_frames]; channels],
            input_ports: AudioPorts::with_capacity(channels, 1),
            output_ports: AudioPorts::with_capacity(channels, 1),
            out_events: EventBuffer::with_capacity(256),
            steady_time: 0,
        }
    }

    fn process_signal(
        &mut self,
        processor: &mut PluginAudioProcessor<Host>,
        input: &[Vec<f32>],
        block_sizes: &[usize],
        events: &[(u32, f64)],
    ) -> Result<Vec<Vec<f32>>, String> {
        let channels = self.inputs.len();
        let max_frames = self.inputs.first().map_or(0, Vec::len);
        if input.len() != channels {
            return Err(format!(
                "{} input channels given, activated with {channels}",
                input.len()
            ));
        }
        let frames = input.first().map_or(0, Vec::len);
        if input.iter().any(|c| c.len() != frames) {
            return Err("input channels differ in length".into());
        }
        if block_sizes.is_empty() || block_sizes.iter().any(|&b| b == 0 || b > max_frames) {
            return Err(format!(
                "block sizes {block_sizes:?} must be 1..={max_frames} (the activated maximum)"
            ));
        }
        let started = processor
            .ensure_processing_started()
            .map_err(|e| format!("start_processing failed: {e}"))?;

        let mut output = vec![Vec::with_capacity(frames); channels];
        let in_events = event_buffer(events);
        let no_events = EventBuffer::new();
        let mut pos = 0;
        let mut block_no = 0;
        while pos < frames {
            let n = block_sizes[block_no % block_sizes.len()].min(frames - pos);
            for (buf, src) in self.inputs.iter_mut().zip(input) {
                buf[..n].copy_from_slice(&src[pos..pos + n]);
            }
            let audio_in = self.input_ports.with_input_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_input_only(
                    self.inputs
                        .iter_mut()
                        .map(|b| InputChannel::variable(&mut b[..n])),
                ),
            }]);
            let mut audio_out = self.output_ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    self.outputs.iter_mut().map(|b| &mut b[..n]),
                ),
            }]);
            let events_in = if block_no == 0 {
                in_events.as_input()
            } else {
                no_events.as_input()
            };
            self.out_events.clear();
            let mut events_out = self.out_events.as_output();
            started
                .process(
                    &audio_in,
                    &mut audio_out,
                    &events_in,
                    &mut events_out,
                    Some(self.steady_time),
                    None,
                )
                .map_err(|e| format!("process() failed at frame {pos} (block of {n}): {e}"))?;
            for (dst, buf) in output.iter_mut().zip(&self.outputs) {
                dst.extend_from_slice(&buf[..n]);
            }
            self.steady_time += n as u64;
            pos += n;
            block_no += 1;
        }
        Ok(output)
    }
}

fn audio_thread_main(
    processor: StoppedPluginAudioProcessor<Host>,
    channels: usize,
    max_frames: usize,
    jobs: Receiver<Job>,
    replies: Sender<Result<Vec<Vec<f32>>, String>>,
) -> StoppedPluginAudioProcessor<Host> {
    IS_AUDIO_THREAD.with(|f| f.set(true));
    let mut processor = PluginAudioProcessor::from(processor);
    let mut buffers = AudioBuffers::new(channels, max_frames);
    // The loop ends when the main thread drops its sender (deactivation).
    while let Ok(job) = jobs.recv() {
        let reply = match job {
            Job::Process {
                input,
                block_sizes,
                events,
            } => buffers.process_signal(&mut processor, &input, &block_sizes, &events),
            Job::Flush(events) => {
                let params = processor
                    .shared_plugin_handle()
                    .get_extension::<PluginParams>();
                match params {
                    Some(params) => {
                        let in_events = event_buffer(&events);
                        buffers.out_events.clear();
                        params.flush_active(
                            &mut processor.plugin_handle(),
                            &in_events.as_input(),
                            &mut buffers.out_events.as_output(),
                        );
                        Ok(Vec::new())
                    }
                    None => Err("the plugin has no params extension".into()),
                }
            }
            Job::Reset => {
                processor.reset();
                Ok(Vec::new())
            }
        };
        if replies.send(reply).is_err() {
            break;
        }
    }
    processor.into_stopped()
}

// ---------------------------------------------------------------------------------------
// The instance.

/// One plugin instance loaded from a `.clap` file. Deactivated and destroyed on drop.
pub struct ClapInstance {
    /// Present while active. Declared first: it must stop before the instance is dropped.
    audio: Option<AudioThread>,
    instance: PluginInstance<Host>,
    /// Keeps the library loaded for as long as the instance exists (dropped after it).
    _entry: PluginEntry,
    params_ext: Option<PluginParams>,
    state_ext: Option<PluginState>,
    latency_ext: Option<PluginLatency>,
    ports_ext: Option<PluginAudioPorts>,
    ports_config_ext: Option<PluginAudioPortsConfig>,
    pending: Vec<(u32, f64)>,
    channels: usize,
    restarts: usize,
}

impl ClapInstance {
    /// Load the `.clap` file (a `.so` on Linux), find `plugin_id` in its factory, instantiate.
    pub fn load(path: &Path, plugin_id: &str) -> Result<Self, String> {
        let entry = load_entry(path)?;
        let factory = entry
            .get_plugin_factory()
            .ok_or_else(|| format!("{} has no plugin factory", path.display()))?;
        let found: Vec<String> = factory
            .plugin_descriptors()
            .filter_map(|d| d.id().map(|id| id.to_string_lossy().into_owned()))
            .collect();
        if !found.iter().any(|id| id == plugin_id) {
            return Err(format!(
                "plugin id {plugin_id} not in {} (it has {found:?})",
                path.display()
            ));
        }
        let id = CString::new(plugin_id).map_err(|e| e.to_string())?;
        let host_info = HostInfo::new(
            "sourcery-tests",
            "Sourcery",
            "https://sourcery.audio",
            env!("CARGO_PKG_VERSION"),
        )
        .map_err(|e| e.to_string())?;
        let mut instance = PluginInstance::<Host>::new(
            |_| HostShared::new(),
            |shared| HostMainThread { shared },
            &entry,
            &id,
            &host_info,
        )
        .map_err(|e| format!("cannot instantiate {plugin_id}: {e}"))?;
        let handle = instance.plugin_handle();
        let params_ext = handle.get_extension::<PluginParams>();
        let state_ext = handle.get_extension::<PluginState>();
        let latency_ext = handle.get_extension::<PluginLatency>();
        let ports_ext = handle.get_extension::<PluginAudioPorts>();
        let ports_config_ext = handle.get_extension::<PluginAudioPortsConfig>();
        let mut this = Self {
            audio: None,
            instance,
            _entry: entry,
            params_ext,
            state_ext,
            latency_ext,
            ports_ext,
            ports_config_ext,
            pending: Vec::new(),
            channels: 0,
            restarts: 0,
        };
        this.pump_main_thread();
        Ok(this)
    }

    /// Run the main-thread callback if the plugin asked for one (`request_callback`).
    pub fn pump_main_thread(&mut self) {
        let requested = self
            .instance
            .access_shared_handler(|s| s.callback_requested.swap(false, Ordering::SeqCst));
        if requested {
            self.instance.call_on_main_thread_callback();
        }
    }

    /// Whether the plugin asked the host to deactivate and reactivate it (e.g. latency
    /// changed while active). Reading clears the flag.
    pub fn take_restart_request(&mut self) -> bool {
        self.instance
            .access_shared_handler(|s| s.restart_requested.swap(false, Ordering::SeqCst))
    }

    /// Whether the plugin reported a latency change (`clap_host_latency.changed`) since the
    /// last call. Reading clears the flag.
    pub fn take_latency_changed(&mut self) -> bool {
        self.instance
            .access_shared_handler(|s| s.latency_changed.swap(false, Ordering::SeqCst))
    }

    /// Whether the plugin asked for a parameter rescan since the last call (it does after a
    /// state load). Reading clears the flag.
    pub fn take_params_rescanned(&mut self) -> bool {
        self.instance
            .access_shared_handler(|s| s.params_rescanned.swap(false, Ordering::SeqCst))
    }

    /// All parameters, in the plugin's order.
    pub fn params(&mut self) -> Vec<ParamInfo> {
        let Some(params) = self.params_ext else {
            return Vec::new();
        };
        let handle = self.instance.plugin_handle();
        let mut buffer = ParamInfoBuffer::new();
        (0..params.count(&handle))
            .filter_map(|i| {
                params.get_info(&handle, i, &mut buffer).map(|p| ParamInfo {
                    id: p.id.get(),
                    name: String::from_utf8_lossy(p.name).into_owned(),
                    module: String::from_utf8_lossy(p.module).into_owned(),
                    min: p.min_value,
                    max: p.max_value,
                    default: p.default_value,
                    flags: p.flags,
                })
            })
            .collect()
    }

    /// The parameter with this display name.
    pub fn param_by_name(&mut self, name: &str) -> Option<ParamInfo> {
        self.params().into_iter().find(|p| p.name == name)
    }

    /// The parameter with this CLAP id.
    pub fn param_by_id(&mut self, id: u32) -> Option<ParamInfo> {
        self.params().into_iter().find(|p| p.id == id)
    }

    /// Current CLAP value of a parameter (`clap_plugin_params.get_value`).
    pub fn get_param_value(&mut self, param_id: u32) -> Option<f64> {
        let params = self.params_ext?;
        params.get_value(&self.instance.plugin_handle(), ClapId::new(param_id))
    }

    /// The plugin's text for a CLAP value of a parameter (`value_to_text`).
    pub fn value_to_text(&mut self, param_id: u32, value: f64) -> Option<String> {
        let params = self.params_ext?;
        let mut buf = [0u8; 256];
        params
            .value_to_text(
                &self.instance.plugin_handle(),
                ClapId::new(param_id),
                value,
                &mut buf,
            )
            .ok()
            .map(|t| String::from_utf8_lossy(t).into_owned())
    }

    /// The CLAP value the plugin parses from a text, e.g. `"-6 dB"` (`text_to_value`). This
    /// is the way to reach a plain value independent of the range's skew.
    pub fn text_to_value(&mut self, param_id: u32, text: &str) -> Option<f64> {
        let params = self.params_ext?;
        let text = CString::new(text).ok()?;
        params.text_to_value(&self.instance.plugin_handle(), ClapId::new(param_id), &text)
    }

    /// Queue every value of `values` that differs from its default, as a host's controls
    /// would set it: stepped parameters by their index, continuous ones by their text
    /// (nice-plug's CLAP float values are normalised, so their plain value goes through
    /// `text_to_value`).
    pub fn set_values(&mut self, values: &sourcery_dsp::ParamValues) {
        let defaults = sourcery_dsp::ParamValues::default();
        for (spec, (v, d)) in sourcery_dsp::PARAMS
            .iter()
            .zip(values.0.iter().zip(defaults.0.iter()))
        {
            if v != d {
                let id = param_id(spec.id);
                let value = match spec.kind {
                    sourcery_dsp::ParamKind::Float { .. } => self
                        .text_to_value(id, &v.to_string())
                        .unwrap_or_else(|| panic!("{} cannot parse {v}", spec.id)),
                    _ => f64::from(*v),
                };
                self.set_param(id, value);
            }
        }
    }

    /// Queue a parameter value (a CLAP value, see the module docs) to be sent as a
    /// param-value event at the start of the next process call or [`Self::flush_params`].
    pub fn set_param(&mut self, param_id: u32, value: f64) {
        self.pending.push((param_id, value));
    }

    /// Send the queued parameter events through `clap_plugin_params.flush` without
    /// processing audio (on the audio thread when active, else on the main thread), so they
    /// are visible to [`Self::get_param_value`] and [`Self::save_state`].
    pub fn flush_params(&mut self) -> Result<(), String> {
        let events = std::mem::take(&mut self.pending);
        if self.audio.is_some() {
            self.run(Job::Flush(events))?;
        } else {
            let params = self
                .params_ext
                .ok_or("the plugin has no params extension")?;
            let in_events = event_buffer(&events);
            let mut out_events = EventBuffer::with_capacity(64);
            let mut handle = self
                .instance
                .inactive_plugin_handle()
                .ok_or("plugin is active without an audio thread")?;
            params.flush(
                &mut handle,
                &in_events.as_input(),
                &mut out_events.as_output(),
            );
        }
        self.pump_main_thread();
        Ok(())
    }

    /// Port configurations offered via audio-ports-config (empty if not supported).
    pub fn port_configs(&mut self) -> Vec<PortConfig> {
        let Some(ext) = self.ports_config_ext else {
            return Vec::new();
        };
        let handle = self.instance.plugin_handle();
        let mut buffer = AudioPortsConfigBuffer::new();
        (0..ext.count(&handle))
            .filter_map(|i| {
                ext.get(&handle, i, &mut buffer).map(|c| PortConfig {
                    id: c.id.get(),
                    name: String::from_utf8_lossy(c.name).into_owned(),
                    main_input_channels: c.main_input.map_or(0, |p| p.channel_count),
                    main_output_channels: c.main_output.map_or(0, |p| p.channel_count),
                })
            })
            .collect()
    }

    /// Channel counts of the main input and output port of the current configuration.
    pub fn main_port_channels(&mut self) -> (u32, u32) {
        let Some(ext) = self.ports_ext else {
            return (0, 0);
        };
        let handle = self.instance.plugin_handle();
        let mut buffer = AudioPortInfoBuffer::new();
        let mut main = |is_input| {
            if ext.count(&handle, is_input) == 0 {
                return 0;
            }
            ext.get(&handle, 0, is_input, &mut buffer)
                .map_or(0, |p| p.channel_count)
        };
        (main(true), main(false))
    }

    /// Select the port configuration with `channels` in and out (via audio-ports-config if
    /// offered), activate at `sample_rate` with up to `max_frames` per block, and start the
    /// audio thread. Deactivates first if active.
    ///
    /// Like a DAW, it honours a restart the plugin requests while being activated (once),
    /// and counts it ([`ClapInstance::restarts`]): a plugin that reports its latency from
    /// inside `activate`, as CLAP allows, never needs one.
    pub fn activate(
        &mut self,
        sample_rate: f64,
        max_frames: u32,
        channels: usize,
    ) -> Result<(), String> {
        self.activate_once(sample_rate, max_frames, channels)?;
        self.pump_main_thread();
        if self.take_restart_request() {
            self.restarts += 1;
            self.activate_once(sample_rate, max_frames, channels)?;
        }
        Ok(())
    }

    /// How many restarts [`ClapInstance::activate`] has granted.
    pub fn restarts(&self) -> usize {
        self.restarts
    }

    fn activate_once(
        &mut self,
        sample_rate: f64,
        max_frames: u32,
        channels: usize,
    ) -> Result<(), String> {
        self.deactivate();
        let wanted = u32::try_from(channels).map_err(|e| e.to_string())?;
        if let Some(ext) = self.ports_config_ext {
            let config = self
                .port_configs()
                .into_iter()
                .find(|c| c.main_input_channels == wanted && c.main_output_channels == wanted)
                .ok_or_else(|| {
                    format!(
                        "no {channels} in / {channels} out port configuration in {:?}",
                        self.port_configs()
                    )
                })?;
            ext.select(&self.instance.plugin_handle(), ClapId::new(config.id))
                .map_err(|e| format!("selecting port configuration {config:?}: {e}"))?;
        }
        let ports = self.main_port_channels();
        if ports != (wanted, wanted) {
            return Err(format!(
                "main ports have {ports:?} channels (in, out), wanted {channels}"
            ));
        }
        let processor = self
            .instance
            .activate(
                |_, _| (),
                PluginAudioConfiguration {
                    sample_rate,
                    min_frames_count: 1,
                    max_frames_count: max_frames,
                },
            )
            .map_err(|e| format!("activate({sample_rate} Hz, {max_frames}) failed: {e}"))?;
        let (jobs, jobs_rx) = channel();
        let (replies_tx, replies) = channel();
        let handle = std::thread::Builder::new()
            .name("clap-audio".into())
            .spawn(move || {
                audio_thread_main(
                    processor,
                    channels,
                    max_frames as usize,
                    jobs_rx,
                    replies_tx,
                )
            })
            .map_err(|e| e.to_string())?;
        self.audio = Some(AudioThread {
            jobs,
            replies,
            handle,
        });
        self.channels = channels;
        self.pump_main_thread();
        Ok(())
    }

    /// Whether the plugin is active.
    pub fn is_active(&self) -> bool {
        self.instance.is_active()
    }

    /// Stop processing (on the audio thread), end the audio thread and deactivate.
    pub fn deactivate(&mut self) {
        if let Some(audio) = self.audio.take() {
            drop(audio.jobs);
            match audio.handle.join() {
                Ok(processor) => self.instance.deactivate(processor),
                // The instance stays active and is leaked by clack-host on drop.
                Err(_) => eprintln!("the CLAP audio thread panicked; instance leaked"),
            }
        }
        self.pump_main_thread();
    }

    fn run(&mut self, job: Job) -> Result<Vec<Vec<f32>>, String> {
        let audio = self.audio.as_ref().ok_or("the plugin is not activated")?;
        audio
            .jobs
            .send(job)
            .map_err(|_| "the audio thread has ended")?;
        let reply = audio
            .replies
            .recv()
            .map_err(|_| "the audio thread has ended (did it panic?)")?;
        self.pump_main_thread();
        reply
    }

    /// `clap_plugin.reset` on the audio thread: clear the plugin's buffers, tails, etc.
    pub fn reset(&mut self) -> Result<(), String> {
        self.run(Job::Reset).map(drop)
    }

    /// Process one block: `inputs` per channel to `outputs` per channel (separate host
    /// buffers, not in place), sending the queued parameter events first. All slices must
    /// have the same length, at most the activated maximum.
    pub fn process(&mut self, inputs: &[&[f32]], outputs: &mut [&mut [f32]]) -> Result<(), String> {
        if outputs.len() != inputs.len() {
            return Err("as many output as input channels are needed".into());
        }
        let frames = inputs.first().map_or(0, |c| c.len());
        if frames == 0 {
            return Ok(());
        }
        let input = inputs.iter().map(|c| c.to_vec()).collect();
        let result = self.process_blocks(input, vec![frames])?;
        for (dst, src) in outputs.iter_mut().zip(result) {
            if dst.len() != src.len() {
                return Err("output channels must be as long as the inputs".into());
            }
            dst.copy_from_slice(&src);
        }
        Ok(())
    }

    /// Process a whole signal (one `Vec` per channel) in blocks whose sizes follow
    /// `block_sizes` cyclically (the last block may be shorter); the queued parameter events
    /// go into the first block. Returns the output per channel.
    pub fn process_signal(
        &mut self,
        input: &[Vec<f32>],
        block_sizes: &[usize],
    ) -> Result<Vec<Vec<f32>>, String> {
        self.process_blocks(input.to_vec(), block_sizes.to_vec())
    }

    fn process_blocks(
        &mut self,
        input: Vec<Vec<f32>>,
        block_sizes: Vec<usize>,
    ) -> Result<Vec<Vec<f32>>, String> {
        if self.audio.is_none() {
            return Err("the plugin is not activated".into());
        }
        let events = std::mem::take(&mut self.pending);
        self.run(Job::Process {
            input,
            block_sizes,
            events,
        })
    }

    /// Channels of the active port configuration (0 when inactive).
    pub fn channels(&self) -> usize {
        if self.audio.is_some() {
            self.channels
        } else {
            0
        }
    }

    /// Switch the plugin to offline (`true`) or realtime rendering (`clap_plugin_render`),
    /// as a host does before an export; call while deactivated (the mode is read at
    /// activation).
    pub fn set_render_offline(&mut self, offline: bool) -> Result<(), String> {
        let handle = self.instance.plugin_handle();
        let render = handle
            .get_extension::<PluginRender>()
            .ok_or("the plugin has no render extension")?;
        let mode = if offline {
            RenderMode::Offline
        } else {
            RenderMode::Realtime
        };
        render
            .set(&handle, mode)
            .map_err(|e| format!("render mode {mode:?} refused: {e}"))
    }

    /// Latency in samples from the latency extension (0 if not supported).
    pub fn latency(&mut self) -> u32 {
        self.latency_ext
            .map_or(0, |l| l.get(&self.instance.plugin_handle()))
    }

    /// Load a preset through `clap.preset-load`: a factory preset by its load key (`file` =
    /// `None`, the plugin location) or a preset file. Returns what the plugin reported to
    /// the host (`loaded` or `on_error`).
    pub fn load_preset(
        &mut self,
        file: Option<&Path>,
        load_key: Option<&str>,
    ) -> Result<Vec<Result<String, String>>, String> {
        let ext = self
            .instance
            .plugin_handle()
            .get_extension::<PluginPresetLoad>()
            .ok_or("the plugin has no clap.preset-load extension")?;
        let path = file
            .map(|f| CString::new(f.to_string_lossy().into_owned()))
            .transpose()
            .map_err(|e| e.to_string())?;
        let location = match &path {
            Some(path) => Location::File { path },
            None => Location::Plugin,
        };
        let key = load_key
            .map(CString::new)
            .transpose()
            .map_err(|e| e.to_string())?;
        let result =
            ext.load_from_location(&self.instance.plugin_handle(), location, key.as_deref());
        self.pump_main_thread();
        let reports = self
            .instance
            .access_shared_handler(|s| std::mem::take(&mut *s.preset_reports.lock().unwrap()));
        result.map_err(|e| format!("{e}: {reports:?}"))?;
        Ok(reports)
    }

    /// Save the plugin state (`clap_plugin_state.save`).
    pub fn save_state(&mut self) -> Result<Vec<u8>, String> {
        let ext = self.state_ext.ok_or("the plugin has no state extension")?;
        let mut data = Vec::new();
        ext.save(&self.instance.plugin_handle(), &mut data)
            .map_err(|e| format!("state save failed: {e}"))?;
        Ok(data)
    }

    /// Load a plugin state (`clap_plugin_state.load`).
    pub fn load_state(&mut self, data: &[u8]) -> Result<(), String> {
        let ext = self.state_ext.ok_or("the plugin has no state extension")?;
        ext.load(&self.instance.plugin_handle(), &mut Cursor::new(data))
            .map_err(|e| format!("state load failed: {e}"))?;
        self.pump_main_thread();
        Ok(())
    }
}

impl Drop for ClapInstance {
    fn drop(&mut self) {
        self.deactivate();
    }
}

// ---------------------------------------------------------------------------------------
// Preset discovery (`clap.preset-discovery-factory/2`), as a host's preset browser crawls.

/// A location a provider declared.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredLocation {
    pub name: String,
    pub flags: u32,
    /// `None` for the plugin-internal location.
    pub path: Option<String>,
}

/// One preset a crawl found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CrawledPreset {
    pub name: String,
    pub load_key: Option<String>,
    /// The file it is in; `None` inside the plugin.
    pub file: Option<String>,
    pub flags: u32,
    pub plugin_ids: Vec<(String, String)>,
    pub creators: Vec<String>,
    pub description: Option<String>,
    pub features: Vec<String>,
}

/// What a crawl saw: the file types and locations every provider declared, the presets
/// and the errors reported through `on_error`.
#[derive(Debug, Default)]
pub struct Crawl {
    pub file_extensions: Vec<String>,
    pub locations: Vec<DeclaredLocation>,
    pub presets: Vec<CrawledPreset>,
    pub errors: Vec<String>,
}

#[derive(Default)]
struct Indexer {
    extensions: Vec<String>,
    locations: Vec<DeclaredLocation>,
}

impl IndexerImpl for Indexer {
    fn declare_filetype(
        &mut self,
        file_type: clack_extensions::preset_discovery::prelude::FileType,
    ) -> Result<(), HostError> {
        if let Some(ext) = file_type.file_extension {
            self.extensions.push(ext.to_string_lossy().into_owned());
        }
        Ok(())
    }
    fn declare_location(&mut self, location: LocationInfo) -> Result<(), HostError> {
        self.locations.push(DeclaredLocation {
            name: location.name.to_string_lossy().into_owned(),
            flags: location.flags.bits(),
            path: match location.location {
                Location::Plugin => None,
                Location::File { path } => Some(path.to_string_lossy().into_owned()),
            },
        });
        Ok(())
    }
    fn declare_soundpack(&mut self, _soundpack: Soundpack) -> Result<(), HostError> {
        Ok(())
    }
}

struct Collector<'a> {
    crawl: &'a mut Crawl,
    file: Option<String>,
}

impl Collector<'_> {
    fn current(&mut self) -> Option<&mut CrawledPreset> {
        self.crawl.presets.last_mut()
    }
}

fn text(s: &std::ffi::CStr) -> String {
    s.to_string_lossy().into_owned()
}

impl MetadataReceiverImpl for Collector<'_> {
    fn on_error(&mut self, _code: i32, message: Option<&std::ffi::CStr>) {
        self.crawl
            .errors
            .push(message.map_or_else(String::new, text));
    }
    fn begin_preset(
        &mut self,
        name: Option<&std::ffi::CStr>,
        load_key: Option<&std::ffi::CStr>,
    ) -> Result<(), HostError> {
        self.crawl.presets.push(CrawledPreset {
            name: name.map_or_else(String::new, text),
            load_key: load_key.map(text),
            file: self.file.clone(),
            ..CrawledPreset::default()
        });
        Ok(())
    }
    fn add_plugin_id(&mut self, id: UniversalPluginId) {
        if let Some(p) = self.current() {
            p.plugin_ids.push((text(id.abi), text(id.id)));
        }
    }
    fn set_soundpack_id(&mut self, _id: &std::ffi::CStr) {}
    fn set_flags(&mut self, flags: PresetFlags) {
        if let Some(p) = self.current() {
            p.flags = flags.bits();
        }
    }
    fn add_creator(&mut self, creator: &std::ffi::CStr) {
        if let Some(p) = self.current() {
            p.creators.push(text(creator));
        }
    }
    fn set_description(&mut self, description: &std::ffi::CStr) {
        if let Some(p) = self.current() {
            p.description = Some(text(description));
        }
    }
    fn set_timestamps(&mut self, _c: Option<Timestamp>, _m: Option<Timestamp>) {}
    fn add_feature(&mut self, feature: &std::ffi::CStr) {
        if let Some(p) = self.current() {
            p.features.push(text(feature));
        }
    }
    fn add_extra_info(&mut self, _key: &std::ffi::CStr, _value: &std::ffi::CStr) {}
}

/// Files under `dir` (recursively) with one of `extensions`.
fn walk(
    dir: &Path,
    extensions: &[String],
    files: &mut Vec<std::path::PathBuf>,
) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            walk(&path, extensions, files)?;
        } else if path
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e.to_string_lossy() == *x))
        {
            files.push(path);
        }
    }
    Ok(())
}

/// Crawl every preset of the `.clap` at `path` as a host's browser does: every provider,
/// every declared location; a folder location is walked for the declared file types.
pub fn crawl_presets(path: &Path) -> Result<Crawl, String> {
    let entry = load_entry(path)?;
    let factory = entry
        .get_factory::<PresetDiscoveryFactory>()
        .ok_or_else(|| format!("{} has no preset-discovery factory", path.display()))?;
    let host_info = HostInfo::new("sourcery-tests", "Sourcery", "https://sourcery.audio", "1")
        .map_err(|e| e.to_string())?;
    let mut crawl = Crawl::default();
    let ids: Vec<CString> = factory
        .provider_descriptors()
        .filter_map(|d| d.id().map(std::ffi::CStr::to_owned))
        .collect();
    for id in ids {
        let mut provider = Provider::instantiate(Indexer::default(), &entry, &id, &host_info)
            .map_err(|e| format!("provider {id:?}: {e}"))?;
        let extensions = provider.indexer().extensions.clone();
        let locations = provider.indexer().locations.clone();
        for location in &locations {
            match &location.path {
                None => {
                    let mut collector = Collector {
                        crawl: &mut crawl,
                        file: None,
                    };
                    provider.get_metadata(Location::Plugin, &mut collector);
                }
                Some(dir) => {
                    let mut files = Vec::new();
                    walk(Path::new(dir), &extensions, &mut files)?;
                    files.sort();
                    for file in files {
                        let c = CString::new(file.to_string_lossy().into_owned())
                            .map_err(|e| e.to_string())?;
                        let mut collector = Collector {
                            crawl: &mut crawl,
                            file: Some(file.to_string_lossy().into_owned()),
                        };
                        provider.get_metadata(Location::File { path: &c }, &mut collector);
                    }
                }
            }
        }
        crawl.file_extensions.extend(extensions);
        crawl.locations.extend(locations);
    }
    Ok(crawl)
}
