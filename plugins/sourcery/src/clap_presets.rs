//! CLAP preset discovery (`clap.preset-discovery-factory/2`) and preset loading
//! (`clap.preset-load/2`), which nice-plug does not provide.
//!
//! One provider, `audio.sourcery.presets`, declares two locations:
//! - the factory presets: at init the provider writes them as files into
//!   [`factory_preset_dir`] (only files that changed; [`install_factory_files`]) and declares
//!   that folder; if it cannot be written, the presets are declared inside the plugin
//!   (`CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN`), one container whose load keys are the
//!   presets' ids ([`Preset::id`]). Loading by such a key always works;
//! - the user preset folder ([`user_preset_dir`]), when it exists: one `.toml` file per
//!   preset ([`sourcery_dsp::presets::preset`] has the format).
//!
//! Metadata comes from the preset data alone (no instance, no UI). Loading goes through
//! nice-plug's state path: the instance's current state with the preset's values put in is
//! set as the new state, and nice-plug then asks the host to rescan the parameter values, so
//! the host sees every new value (and can record the change as one undo step).

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;

use clap_sys::ext::preset_load::{
    clap_host_preset_load, clap_plugin_preset_load, CLAP_EXT_PRESET_LOAD,
};
use clap_sys::factory::preset_discovery::{
    clap_preset_discovery_factory, clap_preset_discovery_filetype, clap_preset_discovery_indexer,
    clap_preset_discovery_location, clap_preset_discovery_location_kind,
    clap_preset_discovery_metadata_receiver, clap_preset_discovery_provider,
    clap_preset_discovery_provider_descriptor, CLAP_PRESET_DISCOVERY_IS_FACTORY_CONTENT,
    CLAP_PRESET_DISCOVERY_IS_USER_CONTENT, CLAP_PRESET_DISCOVERY_LOCATION_FILE,
    CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN,
};
use clap_sys::universal_plugin_id::clap_universal_plugin_id;
use nice_plug::prelude::ClapPlugin;
use nice_plug::wrapper::clap::{clap_plugin, Wrapper, CLAP_VERSION};
use sourcery_dsp::presets::{
    factory_preset_dir, factory_presets, install_factory_files, read_preset, user_preset_dir,
    Preset,
};

use crate::Sourcery;

/// The provider's id (also its descriptor's).
pub const PROVIDER_ID: &CStr = c"audio.sourcery.presets";

static PROVIDER_DESCRIPTOR: clap_preset_discovery_provider_descriptor =
    clap_preset_discovery_provider_descriptor {
        clap_version: CLAP_VERSION,
        id: PROVIDER_ID.as_ptr(),
        name: c"Sourcery presets".as_ptr(),
        vendor: c"Sourcery".as_ptr(),
    };

/// The factory answered for both the final and the draft id.
pub static FACTORY: clap_preset_discovery_factory = clap_preset_discovery_factory {
    count: Some(factory_count),
    get_descriptor: Some(factory_get_descriptor),
    create: Some(factory_create),
};

unsafe extern "C" fn factory_count(_factory: *const clap_preset_discovery_factory) -> u32 {
    1
}

unsafe extern "C" fn factory_get_descriptor(
    _factory: *const clap_preset_discovery_factory,
    index: u32,
) -> *const clap_preset_discovery_provider_descriptor {
    if index == 0 {
        &raw const PROVIDER_DESCRIPTOR
    } else {
        std::ptr::null()
    }
}

/// A provider instance: the C struct (first, so a pointer to it is a pointer to this) and
/// the indexer the host gave.
#[repr(C)]
struct ProviderBox {
    provider: clap_preset_discovery_provider,
    indexer: *const clap_preset_discovery_indexer,
}

unsafe extern "C" fn factory_create(
    _factory: *const clap_preset_discovery_factory,
    indexer: *const clap_preset_discovery_indexer,
    provider_id: *const c_char,
) -> *const clap_preset_discovery_provider {
    // SAFETY: a NUL-terminated id from the host (checked for null first).
    if indexer.is_null()
        || provider_id.is_null()
        || unsafe { CStr::from_ptr(provider_id) } != PROVIDER_ID
    {
        return std::ptr::null();
    }
    let boxed = Box::new(ProviderBox {
        provider: clap_preset_discovery_provider {
            desc: &raw const PROVIDER_DESCRIPTOR,
            provider_data: std::ptr::null_mut(),
            init: Some(provider_init),
            destroy: Some(provider_destroy),
            get_metadata: Some(provider_get_metadata),
            get_extension: Some(provider_get_extension),
        },
        indexer,
    });
    Box::into_raw(boxed).cast_const().cast()
}

unsafe extern "C" fn provider_init(provider: *const clap_preset_discovery_provider) -> bool {
    if provider.is_null() {
        return false;
    }
    // SAFETY: `provider` is a `ProviderBox` we made; its indexer is valid until destroy.
    let indexer = unsafe { &*(*provider.cast::<ProviderBox>()).indexer };
    let filetype = clap_preset_discovery_filetype {
        name: c"Sourcery preset".as_ptr(),
        description: c"A Sourcery preset (TOML, schema 1)".as_ptr(),
        file_extension: c"toml".as_ptr(),
    };
    // SAFETY: the indexer's functions, called during init as the headers require.
    let declare = |flags: u32, name: &CStr, dir: Option<&Path>| unsafe {
        let Some(declare) = indexer.declare_location else {
            return false;
        };
        let path = dir.and_then(|d| {
            std::path::absolute(d)
                .ok()
                .and_then(|d| CString::new(d.to_string_lossy().into_owned()).ok())
        });
        let location = clap_preset_discovery_location {
            flags,
            name: name.as_ptr(),
            kind: if path.is_some() {
                CLAP_PRESET_DISCOVERY_LOCATION_FILE
            } else {
                CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN
            },
            location: path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
        };
        declare(indexer, &location)
    };
    // SAFETY: as above.
    unsafe {
        if let Some(declare_filetype) = indexer.declare_filetype {
            declare_filetype(indexer, &filetype);
        }
    }
    // The factory presets as files (what hosts' browsers index best, and what
    // clap-validator 0.4.1 can crawl: it deadlocks on a container of more than one preset);
    // inside the plugin when the folder cannot be written.
    let factory_dir = factory_preset_dir().filter(|dir| install_factory_files(dir).is_ok());
    if !declare(
        CLAP_PRESET_DISCOVERY_IS_FACTORY_CONTENT,
        c"Sourcery factory presets",
        factory_dir.as_deref(),
    ) {
        return false;
    }
    // The user folder only when it exists: a host crawls what is declared.
    if let Some(dir) = user_preset_dir().filter(|d| d.is_dir()) {
        declare(
            CLAP_PRESET_DISCOVERY_IS_USER_CONTENT,
            c"Sourcery user presets",
            Some(&dir),
        );
    }
    true
}

unsafe extern "C" fn provider_destroy(provider: *const clap_preset_discovery_provider) {
    if !provider.is_null() {
        // SAFETY: made by `Box::into_raw` in `factory_create`; the host destroys it once.
        drop(unsafe { Box::from_raw(provider.cast_mut().cast::<ProviderBox>()) });
    }
}

unsafe extern "C" fn provider_get_extension(
    _provider: *const clap_preset_discovery_provider,
    _id: *const c_char,
) -> *const c_void {
    std::ptr::null()
}

/// Calls on a metadata receiver, with Rust strings.
struct Receiver<'a>(&'a clap_preset_discovery_metadata_receiver);

impl Receiver<'_> {
    fn text(s: &str) -> CString {
        CString::new(s.replace('\0', " ")).unwrap_or_default()
    }

    /// Tell the host about one preset; `load_key` for a container entry.
    fn preset(&self, preset: &Preset, load_key: Option<&str>, flags: u32) -> bool {
        let r = self.0;
        let name = Self::text(&preset.name);
        let key = load_key.map(Self::text);
        // SAFETY: the receiver's functions, called with valid NUL-terminated strings that
        // live across each call.
        unsafe {
            let Some(begin) = r.begin_preset else {
                return false;
            };
            if !begin(
                r,
                name.as_ptr(),
                key.as_ref().map_or(std::ptr::null(), |k| k.as_ptr()),
            ) {
                return false;
            }
            if let Some(add) = r.add_plugin_id {
                let id = CString::new(Sourcery::CLAP_ID).unwrap_or_default();
                add(
                    r,
                    &clap_universal_plugin_id {
                        abi: c"clap".as_ptr(),
                        id: id.as_ptr(),
                    },
                );
            }
            if let Some(set) = r.set_flags {
                set(r, flags);
            }
            if let (Some(add), Some(author)) = (r.add_creator, &preset.author) {
                add(r, Self::text(author).as_ptr());
            }
            if let (Some(set), Some(description)) = (r.set_description, preset.comment()) {
                set(r, Self::text(&description).as_ptr());
            }
            if let Some(add) = r.add_feature {
                for tag in &preset.tags {
                    add(r, Self::text(tag).as_ptr());
                }
            }
        }
        true
    }

    fn error(&self, message: &str) {
        if let Some(on_error) = self.0.on_error {
            // SAFETY: the receiver's function with a valid string.
            unsafe { on_error(self.0, 0, Self::text(message).as_ptr()) };
        }
    }
}

/// The preset a location names, or why there is none.
fn find_preset(
    kind: clap_preset_discovery_location_kind,
    location: *const c_char,
    load_key: *const c_char,
) -> Result<Preset, String> {
    // SAFETY: NUL-terminated strings from the host, checked for null.
    let text =
        |p: *const c_char| (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy());
    match kind {
        CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN => {
            let key = text(load_key).ok_or("a factory preset needs a load key")?;
            factory_presets()
                .iter()
                .find(|p| p.id == *key)
                .cloned()
                .ok_or_else(|| format!("no factory preset has the load key {key:?}"))
        }
        CLAP_PRESET_DISCOVERY_LOCATION_FILE => {
            let path = text(location).ok_or("a file location needs a path")?;
            read_preset(Path::new(path.as_ref())).map_err(|e| e.to_string())
        }
        other => Err(format!("unknown location kind {other}")),
    }
}

unsafe extern "C" fn provider_get_metadata(
    _provider: *const clap_preset_discovery_provider,
    kind: clap_preset_discovery_location_kind,
    location: *const c_char,
    receiver: *const clap_preset_discovery_metadata_receiver,
) -> bool {
    if receiver.is_null() {
        return false;
    }
    // SAFETY: the host's receiver, valid for this call.
    let receiver = Receiver(unsafe { &*receiver });
    match kind {
        CLAP_PRESET_DISCOVERY_LOCATION_PLUGIN => factory_presets().iter().all(|preset| {
            receiver.preset(
                preset,
                Some(&preset.id),
                CLAP_PRESET_DISCOVERY_IS_FACTORY_CONTENT,
            )
        }),
        CLAP_PRESET_DISCOVERY_LOCATION_FILE => {
            match find_preset(kind, location, std::ptr::null()) {
                Ok(preset) => {
                    // SAFETY: a path from the host, not null (`find_preset` checked).
                    let path = unsafe { CStr::from_ptr(location) }.to_string_lossy();
                    let factory = factory_preset_dir()
                        .is_some_and(|dir| Path::new(path.as_ref()).starts_with(dir));
                    let flags = if factory {
                        CLAP_PRESET_DISCOVERY_IS_FACTORY_CONTENT
                    } else {
                        CLAP_PRESET_DISCOVERY_IS_USER_CONTENT
                    };
                    receiver.preset(&preset, None, flags)
                }
                Err(message) => {
                    receiver.error(&message);
                    false
                }
            }
        }
        _ => false,
    }
}

/// `clap.preset-load`, answered by [`crate::clap_entry`]'s `get_extension`.
pub static PRESET_LOAD: clap_plugin_preset_load = clap_plugin_preset_load {
    from_location: Some(from_location),
};

unsafe extern "C" fn from_location(
    plugin: *const clap_plugin,
    kind: clap_preset_discovery_location_kind,
    location: *const c_char,
    load_key: *const c_char,
) -> bool {
    // SAFETY: `plugin` is an instance nice-plug made (its `plugin_data` is the wrapper).
    let Some(wrapper) = (unsafe { plugin.as_ref() })
        .and_then(|p| unsafe { p.plugin_data.cast::<Wrapper<Sourcery>>().as_ref() })
    else {
        return false;
    };
    let host = crate::clap_entry::host_of(plugin);
    let host_preset_load = host.and_then(|host| {
        // SAFETY: the host's vtable, on the main thread.
        unsafe {
            let get = (*host).get_extension?;
            get(host, CLAP_EXT_PRESET_LOAD.as_ptr())
                .cast::<clap_host_preset_load>()
                .as_ref()
        }
    });
    match find_preset(kind, location, load_key) {
        Ok(preset) => {
            let mut state = wrapper.get_state_object();
            crate::params::put_preset(&mut state, &preset);
            wrapper.set_state_object_from_gui(state);
            if let (Some(host), Some(loaded)) = (host, host_preset_load.and_then(|e| e.loaded)) {
                // SAFETY: the host's callback with the host's own arguments.
                unsafe { loaded(host, kind, location, load_key) };
            }
            true
        }
        Err(message) => {
            if let (Some(host), Some(on_error)) = (host, host_preset_load.and_then(|e| e.on_error))
            {
                let message = Receiver::text(&message);
                // SAFETY: as above.
                unsafe { on_error(host, kind, location, load_key, 0, message.as_ptr()) };
            }
            false
        }
    }
}
