//! Sourcery's own CLAP entry point, in place of `nice_export_clap!`.
//!
//! The factory is the one the macro would write (one plugin, nice-plug's [`Wrapper`]), with
//! two differences: the entry also gives the preset-discovery factory
//! ([`crate::clap_presets`]), and each instance's `clap_plugin.get_extension` answers
//! `clap.preset-load`, `clap.configurable-audio-ports` (a host asks for mono or stereo; the
//! layout is selected through nice-plug's `clap.audio-ports-config`) and `clap.latency`
//! itself.
//! nice-plug reports a latency set during `activate` after it has marked the instance
//! active, and so asks the host for a *restart* (a second activation) every time the
//! latency differs from the last one: on the first activation and on every sample-rate
//! change. The CLAP specification lets a plugin tell the host of a new latency from inside
//! `activate` (`clap_host_latency.changed`, "main-thread & being-activated"), which is what
//! [`ClapLink::report_latency`] does; no restart is involved.
//!
//! The link between the C instance and the Rust plugin: `create_plugin` makes a
//! [`ClapLink`] and leaves it in a thread-local slot for the `Sourcery::default()` that
//! `Wrapper::new` runs on the same thread, right away ([`take_link`]); a VST3 or test
//! instance finds the slot empty and reports its latency through nice-plug.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use clap_sys::ext::audio_ports::{CLAP_PORT_MONO, CLAP_PORT_STEREO};
use clap_sys::ext::audio_ports_config::{
    clap_plugin_audio_ports_config, CLAP_EXT_AUDIO_PORTS_CONFIG,
};
use clap_sys::ext::configurable_audio_ports::{
    clap_audio_port_configuration_request, clap_plugin_configurable_audio_ports,
    CLAP_EXT_CONFIGURABLE_AUDIO_PORTS, CLAP_EXT_CONFIGURABLE_AUDIO_PORTS_COMPAT,
};
use clap_sys::ext::latency::{clap_host_latency, clap_plugin_latency, CLAP_EXT_LATENCY};
use clap_sys::ext::preset_load::{CLAP_EXT_PRESET_LOAD, CLAP_EXT_PRESET_LOAD_COMPAT};
use clap_sys::factory::preset_discovery::{
    CLAP_PRESET_DISCOVERY_FACTORY_ID, CLAP_PRESET_DISCOVERY_FACTORY_ID_COMPAT,
};
use nice_plug::wrapper::clap::{
    clap_host, clap_plugin, clap_plugin_descriptor, clap_plugin_entry, clap_plugin_factory,
    PluginDescriptor, Wrapper, CLAP_PLUGIN_FACTORY_ID, CLAP_VERSION,
};
use nice_plug::wrapper::setup_logger;

use crate::{clap_presets, Sourcery};

/// What an instance and the entry share: the host, and the latency to report.
pub struct ClapLink {
    host: HostPtr,
    latency: AtomicU32,
}

/// The host's `clap_host`, valid from `create_plugin` until `destroy`.
struct HostPtr(*const clap_host);
// SAFETY: the pointer is only dereferenced on the main thread (in `activate`), as the
// CLAP threading rules for `clap_host_latency.changed` require.
unsafe impl Send for HostPtr {}
unsafe impl Sync for HostPtr {}

impl ClapLink {
    /// The latency the host reads through `clap.latency`.
    pub fn latency(&self) -> u32 {
        self.latency.load(Ordering::Acquire)
    }

    /// Record a latency that changed while processing; the host reads it when it restarts
    /// the instance (nice-plug asks it to). Lock-free: for the audio thread.
    pub fn set_pending_latency(&self, samples: u32) {
        self.latency.store(samples, Ordering::Release);
    }

    /// Record `samples` and, if it differs from what the host last read, tell the host.
    /// Call from `activate` only (main thread, being activated).
    pub fn report_latency(&self, samples: u32) {
        let previous = self.latency.swap(samples, Ordering::AcqRel);
        if previous == samples {
            return;
        }
        let host = self.host.0;
        // SAFETY: `host` outlives the instance; the host's vtable entries are called as
        // the CLAP headers specify (main thread, during activation).
        unsafe {
            let Some(get_extension) = (*host).get_extension else {
                return;
            };
            let ext = get_extension(host, CLAP_EXT_LATENCY.as_ptr()).cast::<clap_host_latency>();
            if let Some(changed) = ext.as_ref().and_then(|ext| ext.changed) {
                changed(host);
            }
        }
    }
}

thread_local! {
    /// The link of the instance `create_plugin` is constructing on this thread.
    static CREATING: RefCell<Option<Arc<ClapLink>>> = const { RefCell::new(None) };
}

/// The link `create_plugin` left for the plugin being constructed, if this is a CLAP
/// instance.
pub fn take_link() -> Option<Arc<ClapLink>> {
    CREATING.with(|slot| slot.borrow_mut().take())
}

/// Live instances: `clap_plugin` pointer → its link. Touched on the main thread only
/// (create, destroy, `clap.latency` get), never by audio.
static INSTANCES: Mutex<Vec<(usize, Arc<ClapLink>)>> = Mutex::new(Vec::new());

/// The host of a live instance.
pub fn host_of(plugin: *const clap_plugin) -> Option<*const clap_host> {
    link_of(plugin).map(|link| link.host.0)
}

fn link_of(plugin: *const clap_plugin) -> Option<Arc<ClapLink>> {
    let instances = INSTANCES.lock().unwrap_or_else(|e| e.into_inner());
    instances
        .iter()
        .find(|(p, _)| *p == plugin as usize)
        .map(|(_, link)| link.clone())
}

/// nice-plug's own `get_extension` and `destroy` (the same functions for every instance).
static WRAPPER_GET_EXTENSION: OnceLock<
    unsafe extern "C" fn(*const clap_plugin, *const c_char) -> *const c_void,
> = OnceLock::new();
static WRAPPER_DESTROY: OnceLock<unsafe extern "C" fn(*const clap_plugin)> = OnceLock::new();

static LATENCY: clap_plugin_latency = clap_plugin_latency {
    get: Some(latency_get),
};

unsafe extern "C" fn latency_get(plugin: *const clap_plugin) -> u32 {
    link_of(plugin).map_or(0, |link| link.latency())
}

static CONFIGURABLE_AUDIO_PORTS: clap_plugin_configurable_audio_ports =
    clap_plugin_configurable_audio_ports {
        can_apply_configuration: Some(can_apply_configuration),
        apply_configuration: Some(apply_configuration),
    };

/// The layout (channels in = channels out: 2 is `AUDIO_IO_LAYOUTS[0]`, 1 is `[1]`) that a
/// host's port requests ask for: `Ok(None)` keeps the current one, `Err` when they cannot be
/// met (a port other than the main one, more than two channels, a type other than mono or
/// stereo, or inputs and outputs of different widths).
///
/// # Safety
/// `requests` points to `count` valid requests (or `count` is 0).
unsafe fn requested_channels(
    requests: *const clap_audio_port_configuration_request,
    count: u32,
) -> Result<Option<u32>, ()> {
    if count == 0 {
        return Ok(None);
    }
    if requests.is_null() {
        return Err(());
    }
    // SAFETY: the caller's contract.
    let requests = unsafe { std::slice::from_raw_parts(requests, count as usize) };
    let mut channels = None;
    for request in requests {
        if request.port_index != 0 || !(1..=2).contains(&request.channel_count) {
            return Err(());
        }
        if !request.port_type.is_null() {
            // SAFETY: a NUL-terminated type from the host.
            let kind = unsafe { CStr::from_ptr(request.port_type) };
            let fits = (kind == CLAP_PORT_MONO && request.channel_count == 1)
                || (kind == CLAP_PORT_STEREO && request.channel_count == 2);
            if !fits {
                return Err(());
            }
        }
        match channels {
            Some(c) if c != request.channel_count => return Err(()),
            _ => channels = Some(request.channel_count),
        }
    }
    Ok(channels)
}

unsafe extern "C" fn can_apply_configuration(
    _plugin: *const clap_plugin,
    requests: *const clap_audio_port_configuration_request,
    count: u32,
) -> bool {
    // SAFETY: the host's array of `count` requests.
    unsafe { requested_channels(requests, count) }.is_ok()
}

unsafe extern "C" fn apply_configuration(
    plugin: *const clap_plugin,
    requests: *const clap_audio_port_configuration_request,
    count: u32,
) -> bool {
    // SAFETY: as above.
    let Ok(channels) = (unsafe { requested_channels(requests, count) }) else {
        return false;
    };
    let Some(channels) = channels else {
        return true;
    };
    // nice-plug's `clap.audio-ports-config` selects a layout by its index.
    let Some(original) = WRAPPER_GET_EXTENSION.get() else {
        return false;
    };
    // SAFETY: nice-plug's own extension of this instance, used on the main thread while
    // the instance is inactive, as `apply_configuration` requires.
    unsafe {
        let config = original(plugin, CLAP_EXT_AUDIO_PORTS_CONFIG.as_ptr())
            .cast::<clap_plugin_audio_ports_config>();
        match config.as_ref().and_then(|c| c.select) {
            Some(select) => select(plugin, if channels == 2 { 0 } else { 1 }),
            None => false,
        }
    }
}

unsafe extern "C" fn get_extension(plugin: *const clap_plugin, id: *const c_char) -> *const c_void {
    // SAFETY: the host passes a NUL-terminated id (checked for null first).
    if !id.is_null() {
        // SAFETY: as above.
        let id = unsafe { CStr::from_ptr(id) };
        if id == CLAP_EXT_LATENCY {
            return (&raw const LATENCY).cast();
        }
        if id == CLAP_EXT_CONFIGURABLE_AUDIO_PORTS || id == CLAP_EXT_CONFIGURABLE_AUDIO_PORTS_COMPAT
        {
            return (&raw const CONFIGURABLE_AUDIO_PORTS).cast();
        }
        if id == CLAP_EXT_PRESET_LOAD || id == CLAP_EXT_PRESET_LOAD_COMPAT {
            return (&raw const clap_presets::PRESET_LOAD).cast();
        }
    }
    match WRAPPER_GET_EXTENSION.get() {
        // SAFETY: nice-plug's function, called with the host's arguments.
        Some(original) => unsafe { original(plugin, id) },
        None => std::ptr::null(),
    }
}

unsafe extern "C" fn destroy(plugin: *const clap_plugin) {
    INSTANCES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(p, _)| *p != plugin as usize);
    if let Some(original) = WRAPPER_DESTROY.get() {
        // SAFETY: nice-plug's destroy for an instance it created.
        unsafe { original(plugin) };
    }
}

fn descriptor() -> &'static PluginDescriptor {
    static DESCRIPTOR: OnceLock<PluginDescriptor> = OnceLock::new();
    DESCRIPTOR.get_or_init(PluginDescriptor::for_plugin::<Sourcery>)
}

unsafe extern "C" fn get_plugin_count(_factory: *const clap_plugin_factory) -> u32 {
    1
}

unsafe extern "C" fn get_plugin_descriptor(
    _factory: *const clap_plugin_factory,
    index: u32,
) -> *const clap_plugin_descriptor {
    if index == 0 {
        descriptor().clap_plugin_descriptor()
    } else {
        std::ptr::null()
    }
}

unsafe extern "C" fn create_plugin(
    _factory: *const clap_plugin_factory,
    host: *const clap_host,
    plugin_id: *const c_char,
) -> *const clap_plugin {
    if host.is_null() || plugin_id.is_null() {
        return std::ptr::null();
    }
    // SAFETY: a NUL-terminated id from the host.
    if unsafe { CStr::from_ptr(plugin_id) } != descriptor().clap_id() {
        return std::ptr::null();
    }
    let link = Arc::new(ClapLink {
        host: HostPtr(host),
        latency: AtomicU32::new(0),
    });
    CREATING.with(|slot| *slot.borrow_mut() = Some(link.clone()));
    // SAFETY: `host` outlives the instance (CLAP rule). The Arc is turned back into one
    // and dropped by nice-plug's destroy, which ours calls.
    let wrapper = unsafe { &*Arc::into_raw(Wrapper::<Sourcery>::new(host)) };
    // In case the plugin did not take it (it always does): no stale link for the next.
    drop(take_link());
    let mut plugin = wrapper.clap_plugin.borrow_mut();
    if let Some(original) = plugin.get_extension {
        WRAPPER_GET_EXTENSION.get_or_init(|| original);
        plugin.get_extension = Some(get_extension);
    }
    if let Some(original) = plugin.destroy {
        WRAPPER_DESTROY.get_or_init(|| original);
        plugin.destroy = Some(destroy);
    }
    drop(plugin);
    let ptr = wrapper.clap_plugin.as_ptr().cast_const();
    INSTANCES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((ptr as usize, link));
    ptr
}

static PLUGIN_FACTORY: clap_plugin_factory = clap_plugin_factory {
    get_plugin_count: Some(get_plugin_count),
    get_plugin_descriptor: Some(get_plugin_descriptor),
    create_plugin: Some(create_plugin),
};

extern "C" fn init(_plugin_path: *const c_char) -> bool {
    setup_logger::<Sourcery>();
    true
}

extern "C" fn deinit() {}

extern "C" fn get_factory(factory_id: *const c_char) -> *const c_void {
    // SAFETY: a NUL-terminated id from the host (checked for null first).
    if factory_id.is_null() {
        return std::ptr::null();
    }
    // SAFETY: as above.
    let id = unsafe { CStr::from_ptr(factory_id) };
    if id == CLAP_PLUGIN_FACTORY_ID {
        (&raw const PLUGIN_FACTORY).cast()
    } else if id == CLAP_PRESET_DISCOVERY_FACTORY_ID
        || id == CLAP_PRESET_DISCOVERY_FACTORY_ID_COMPAT
    {
        (&raw const clap_presets::FACTORY).cast()
    } else {
        std::ptr::null()
    }
}

/// The CLAP plugin's entry point.
#[unsafe(no_mangle)]
#[used]
pub static clap_entry: clap_plugin_entry = clap_plugin_entry {
    clap_version: CLAP_VERSION,
    init: Some(init),
    deinit: Some(deinit),
    get_factory: Some(get_factory),
};

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        is_input: bool,
        port_index: u32,
        channel_count: u32,
        port_type: Option<&'static CStr>,
    ) -> clap_audio_port_configuration_request {
        clap_audio_port_configuration_request {
            is_input,
            port_index,
            channel_count,
            port_type: port_type.map_or(std::ptr::null(), CStr::as_ptr),
            port_details: std::ptr::null(),
        }
    }

    fn channels(requests: &[clap_audio_port_configuration_request]) -> Result<Option<u32>, ()> {
        // SAFETY: a valid slice.
        unsafe { requested_channels(requests.as_ptr(), requests.len() as u32) }
    }

    #[test]
    fn port_requests_map_to_the_mono_or_stereo_layout() {
        assert_eq!(channels(&[]), Ok(None));
        let mono = request(true, 0, 1, Some(CLAP_PORT_MONO));
        let stereo_out = request(false, 0, 2, Some(CLAP_PORT_STEREO));
        assert_eq!(channels(&[mono]), Ok(Some(1)));
        assert_eq!(channels(&[stereo_out]), Ok(Some(2)));
        assert_eq!(channels(&[request(false, 0, 2, None)]), Ok(Some(2)));
        // In and out must agree; no second port; at most two channels; types must fit.
        assert_eq!(channels(&[mono, stereo_out]), Err(()));
        assert_eq!(channels(&[request(true, 1, 2, None)]), Err(()));
        assert_eq!(channels(&[request(true, 0, 6, None)]), Err(()));
        assert_eq!(
            channels(&[request(true, 0, 2, Some(CLAP_PORT_MONO))]),
            Err(())
        );
        assert_eq!(channels(&[request(true, 0, 1, Some(c"surround"))]), Err(()));
    }
}
