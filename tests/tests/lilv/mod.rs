//! A minimal LV2 host on lilv 0.24, loaded at run time (`liblilv-0.so.0`, Debian's
//! `liblilv-0-0`, which lilv-utils installs): no headers, no build-time dependency. The few
//! lilv functions used are declared here from `lilv.h`; `urid:map`/`unmap` are implemented
//! in Rust. An [`Instance`] is driven through its LV2 descriptor, as lilv's own
//! `lilv_instance_*` inline functions do.

use std::collections::HashMap;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::ptr;
use std::sync::Mutex;

/// `LV2_Feature` (lv2/core/lv2.h).
#[repr(C)]
pub struct Feature {
    uri: *const c_char,
    data: *mut c_void,
}

/// `LV2_Descriptor` (lv2/core/lv2.h).
#[repr(C)]
struct Descriptor {
    uri: *const c_char,
    instantiate: *const c_void,
    connect_port: Option<unsafe extern "C" fn(*mut c_void, u32, *mut c_void)>,
    activate: Option<unsafe extern "C" fn(*mut c_void)>,
    run: Option<unsafe extern "C" fn(*mut c_void, u32)>,
    deactivate: Option<unsafe extern "C" fn(*mut c_void)>,
    cleanup: *const c_void,
    extension_data: *const c_void,
}

/// `LilvInstance` (lilv.h: a public struct).
#[repr(C)]
struct LilvInstance {
    lv2_descriptor: *const Descriptor,
    lv2_handle: *mut c_void,
    pimpl: *mut c_void,
}

/// `LV2_URID_Map` (lv2/urid/urid.h).
#[repr(C)]
pub struct UridMapFeature {
    handle: *mut c_void,
    map: unsafe extern "C" fn(*mut c_void, *const c_char) -> u32,
}

/// `LV2_URID_Unmap` (lv2/urid/urid.h).
#[repr(C)]
pub struct UridUnmapFeature {
    handle: *mut c_void,
    unmap: unsafe extern "C" fn(*mut c_void, u32) -> *const c_char,
}

type GetPortValue =
    unsafe extern "C" fn(*const c_char, *mut c_void, *mut u32, *mut u32) -> *const c_void;
type SetPortValue = unsafe extern "C" fn(*const c_char, *mut c_void, *const c_void, u32, u32);

/// The lilv functions used, resolved from the shared library.
struct Api {
    world_new: unsafe extern "C" fn() -> *mut c_void,
    world_free: unsafe extern "C" fn(*mut c_void),
    world_load_bundle: unsafe extern "C" fn(*mut c_void, *const c_void),
    world_get_all_plugins: unsafe extern "C" fn(*const c_void) -> *const c_void,
    new_uri: unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void,
    new_file_uri: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> *mut c_void,
    new_string: unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_void,
    node_free: unsafe extern "C" fn(*mut c_void),
    plugins_get_by_uri: unsafe extern "C" fn(*const c_void, *const c_void) -> *const c_void,
    plugin_get_port_by_symbol: unsafe extern "C" fn(*const c_void, *const c_void) -> *const c_void,
    port_get_index: unsafe extern "C" fn(*const c_void, *const c_void) -> u32,
    plugin_get_num_ports: unsafe extern "C" fn(*const c_void) -> u32,
    plugin_instantiate:
        unsafe extern "C" fn(*const c_void, f64, *const *const Feature) -> *mut LilvInstance,
    instance_free: unsafe extern "C" fn(*mut LilvInstance),
    #[allow(clippy::type_complexity)]
    state_new_from_instance: unsafe extern "C" fn(
        *const c_void,
        *mut LilvInstance,
        *mut UridMapFeature,
        *const c_char,
        *const c_char,
        *const c_char,
        *const c_char,
        GetPortValue,
        *mut c_void,
        u32,
        *const *const Feature,
    ) -> *mut c_void,
    state_to_string: unsafe extern "C" fn(
        *mut c_void,
        *mut UridMapFeature,
        *mut UridUnmapFeature,
        *const c_void,
        *const c_char,
        *const c_char,
    ) -> *mut c_char,
    state_new_from_string:
        unsafe extern "C" fn(*mut c_void, *mut UridMapFeature, *const c_char) -> *mut c_void,
    state_new_from_file: unsafe extern "C" fn(
        *mut c_void,
        *mut UridMapFeature,
        *const c_void,
        *const c_char,
    ) -> *mut c_void,
    state_get_label: unsafe extern "C" fn(*const c_void) -> *const c_char,
    state_restore: unsafe extern "C" fn(
        *const c_void,
        *mut LilvInstance,
        Option<SetPortValue>,
        *mut c_void,
        u32,
        *const *const Feature,
    ),
    state_free: unsafe extern "C" fn(*mut c_void),
    free: unsafe extern "C" fn(*mut c_void),
}

/// The lilv library, or why it could not be loaded.
pub struct Lilv {
    api: Api,
    _library: libloading::Library,
}

impl Lilv {
    /// The shared library's name on Debian (package `liblilv-0-0`).
    pub const LIBRARY: &'static str = "liblilv-0.so.0";

    /// Load lilv; `Err` with the loader's message when it is not installed.
    pub fn load() -> Result<Self, String> {
        // SAFETY: loading lilv runs no initialisers with preconditions of ours.
        let library =
            unsafe { libloading::Library::new(Self::LIBRARY) }.map_err(|e| e.to_string())?;
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the declared type is the function's C signature in lilv.h 0.24;
                // the copied pointer is used only while `_library` keeps the library loaded.
                *unsafe { library.get(concat!($name, "\0").as_bytes()) }
                    .map_err(|e| format!("{}: {e}", $name))?
            };
        }
        let api = Api {
            world_new: sym!("lilv_world_new"),
            world_free: sym!("lilv_world_free"),
            world_load_bundle: sym!("lilv_world_load_bundle"),
            world_get_all_plugins: sym!("lilv_world_get_all_plugins"),
            new_uri: sym!("lilv_new_uri"),
            new_file_uri: sym!("lilv_new_file_uri"),
            new_string: sym!("lilv_new_string"),
            node_free: sym!("lilv_node_free"),
            plugins_get_by_uri: sym!("lilv_plugins_get_by_uri"),
            plugin_get_port_by_symbol: sym!("lilv_plugin_get_port_by_symbol"),
            port_get_index: sym!("lilv_port_get_index"),
            plugin_get_num_ports: sym!("lilv_plugin_get_num_ports"),
            plugin_instantiate: sym!("lilv_plugin_instantiate"),
            instance_free: sym!("lilv_instance_free"),
            state_new_from_instance: sym!("lilv_state_new_from_instance"),
            state_to_string: sym!("lilv_state_to_string"),
            state_new_from_string: sym!("lilv_state_new_from_string"),
            state_new_from_file: sym!("lilv_state_new_from_file"),
            state_get_label: sym!("lilv_state_get_label"),
            state_restore: sym!("lilv_state_restore"),
            state_free: sym!("lilv_state_free"),
            free: sym!("lilv_free"),
        };
        Ok(Self {
            api,
            _library: library,
        })
    }
}

/// A host's URID map and unmap: URIs numbered from 1 in the order first asked for.
pub struct Urids {
    uris: Mutex<Vec<CString>>,
    pub map: UridMapFeature,
    pub unmap: UridUnmapFeature,
    map_feature: Feature,
    unmap_feature: Feature,
}

impl Urids {
    pub fn new() -> Box<Self> {
        let mut urids = Box::new(Self {
            uris: Mutex::new(Vec::new()),
            map: UridMapFeature {
                handle: ptr::null_mut(),
                map: Self::map_uri,
            },
            unmap: UridUnmapFeature {
                handle: ptr::null_mut(),
                unmap: Self::unmap_urid,
            },
            map_feature: Feature {
                uri: c"http://lv2plug.in/ns/ext/urid#map".as_ptr(),
                data: ptr::null_mut(),
            },
            unmap_feature: Feature {
                uri: c"http://lv2plug.in/ns/ext/urid#unmap".as_ptr(),
                data: ptr::null_mut(),
            },
        });
        // The box never moves, so these pointers into it stay valid while it lives.
        let this: *mut Self = &mut *urids;
        urids.map.handle = this.cast();
        urids.unmap.handle = this.cast();
        urids.map_feature.data = ptr::from_mut(&mut urids.map).cast();
        urids.unmap_feature.data = ptr::from_mut(&mut urids.unmap).cast();
        urids
    }

    /// The URID of `uri`.
    pub fn urid(&self, uri: &CStr) -> u32 {
        let mut uris = self.uris.lock().unwrap();
        let index = match uris.iter().position(|u| u.as_c_str() == uri) {
            Some(i) => i,
            None => {
                uris.push(uri.to_owned());
                uris.len() - 1
            }
        };
        index as u32 + 1
    }

    unsafe extern "C" fn map_uri(handle: *mut c_void, uri: *const c_char) -> u32 {
        // SAFETY: `handle` is this `Urids` (set in `new`), `uri` a C string (LV2 urid).
        unsafe { (*handle.cast::<Self>()).urid(CStr::from_ptr(uri)) }
    }

    unsafe extern "C" fn unmap_urid(handle: *mut c_void, urid: u32) -> *const c_char {
        // SAFETY: `handle` is this `Urids` (set in `new`).
        let this = unsafe { &*handle.cast::<Self>() };
        let uris = this.uris.lock().unwrap();
        // A CString's buffer stays where it is when the Vec grows: the pointer is valid for
        // the map's lifetime.
        (urid as usize)
            .checked_sub(1)
            .and_then(|i| uris.get(i))
            .map_or(ptr::null(), |u| u.as_ptr())
    }

    /// The feature array for `instantiate` and the state functions: map, unmap, null.
    fn features(&self) -> [*const Feature; 3] {
        [&self.map_feature, &self.unmap_feature, ptr::null()]
    }
}

/// A lilv world with the bundles it was given loaded, and the map its states use.
pub struct World {
    lilv: Lilv,
    world: *mut c_void,
    pub urids: Box<Urids>,
}

impl World {
    /// A world that knows the bundles in `bundles` (each a bundle folder).
    pub fn new(lilv: Lilv, bundles: &[&Path]) -> Self {
        // SAFETY: plain constructor.
        let world = unsafe { (lilv.api.world_new)() };
        assert!(!world.is_null(), "lilv_world_new");
        let this = Self {
            lilv,
            world,
            urids: Urids::new(),
        };
        for bundle in bundles {
            // A bundle URI ends with a slash (lilv.h).
            let path = CString::new(format!("{}/", bundle.display())).unwrap();
            // SAFETY: a live world and C strings; the node is freed after use.
            unsafe {
                let node = (this.lilv.api.new_file_uri)(this.world, ptr::null(), path.as_ptr());
                (this.lilv.api.world_load_bundle)(this.world, node);
                (this.lilv.api.node_free)(node);
            }
        }
        this
    }

    fn api(&self) -> &Api {
        &self.lilv.api
    }

    /// The plugin with `uri` (panics when the world does not know it).
    pub fn plugin(&self, uri: &str) -> Plugin<'_> {
        let uri_c = CString::new(uri).unwrap();
        // SAFETY: a live world; the node is freed after the lookup, the plugin belongs to
        // the world.
        let plugin = unsafe {
            let node = (self.api().new_uri)(self.world, uri_c.as_ptr());
            let plugins = (self.api().world_get_all_plugins)(self.world);
            let plugin = (self.api().plugins_get_by_uri)(plugins, node);
            (self.api().node_free)(node);
            plugin
        };
        assert!(!plugin.is_null(), "lilv does not know {uri}");
        Plugin {
            world: self,
            plugin,
        }
    }

    /// A state parsed from `text` (as `lilv_state_to_string` wrote it).
    pub fn state_from_string(&self, text: &str) -> State<'_> {
        let text = CString::new(text).unwrap();
        // SAFETY: a live world and map; a C string.
        let state = unsafe {
            (self.api().state_new_from_string)(
                self.world,
                ptr::from_ref(&self.urids.map).cast_mut(),
                text.as_ptr(),
            )
        };
        assert!(!state.is_null(), "lilv_state_new_from_string failed");
        State { world: self, state }
    }

    /// The state (preset) in the Turtle file `path`, its subject being the file itself.
    pub fn state_from_file(&self, path: &Path) -> State<'_> {
        let path_c = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: a live world and map; a C string; a null subject means the file's URI.
        let state = unsafe {
            (self.api().state_new_from_file)(
                self.world,
                ptr::from_ref(&self.urids.map).cast_mut(),
                ptr::null(),
                path_c.as_ptr(),
            )
        };
        assert!(
            !state.is_null(),
            "lilv_state_new_from_file({})",
            path.display()
        );
        State { world: self, state }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // SAFETY: created in `new`; every plugin, instance and state borrows the world and
        // is gone by now.
        unsafe { (self.lilv.api.world_free)(self.world) };
    }
}

/// A plugin the world knows.
pub struct Plugin<'w> {
    world: &'w World,
    plugin: *const c_void,
}

impl<'w> Plugin<'w> {
    /// The index of the port with `symbol`.
    pub fn port_index(&self, symbol: &str) -> u32 {
        let api = self.world.api();
        let symbol_c = CString::new(symbol).unwrap();
        // SAFETY: a live world and plugin; the node is freed after the lookup.
        unsafe {
            let node = (api.new_string)(self.world.world, symbol_c.as_ptr());
            let port = (api.plugin_get_port_by_symbol)(self.plugin, node);
            (api.node_free)(node);
            assert!(!port.is_null(), "no port {symbol}");
            (api.port_get_index)(self.plugin, port)
        }
    }

    /// A new instance at `sample_rate`, given urid:map and urid:unmap, with every control
    /// port at `controls` (by port index; the caller fills in defaults) and not activated.
    pub fn instantiate(&self, sample_rate: f64, controls: Vec<f32>) -> Instance<'w, '_> {
        let features = self.world.urids.features();
        // SAFETY: a live plugin; a null-terminated feature array whose features outlive the
        // instance (they live in the world's `Urids`).
        let instance = unsafe {
            (self.world.api().plugin_instantiate)(self.plugin, sample_rate, features.as_ptr())
        };
        assert!(!instance.is_null(), "lilv_plugin_instantiate failed");
        // SAFETY: a live plugin.
        let ports = unsafe { (self.world.api().plugin_get_num_ports)(self.plugin) } as usize;
        assert_eq!(controls.len(), ports, "one value per port");
        Instance {
            plugin: self,
            instance,
            controls: controls.into_boxed_slice(),
        }
    }
}

/// A plugin instance and its control port values.
pub struct Instance<'w, 'p> {
    plugin: &'p Plugin<'w>,
    instance: *mut LilvInstance,
    /// One value per port index (audio ports' entries unused).
    pub controls: Box<[f32]>,
}

/// What the port value callbacks get: the control values and the symbol → index map.
struct PortAccess<'a> {
    controls: &'a mut [f32],
    indices: &'a HashMap<String, u32>,
    float: u32,
    double: u32,
    int: u32,
    long: u32,
    bool_: u32,
    /// What the callbacks could not do (a panic must not unwind into lilv).
    errors: Vec<String>,
}

unsafe extern "C" fn get_port_value(
    symbol: *const c_char,
    user_data: *mut c_void,
    size: *mut u32,
    type_: *mut u32,
) -> *const c_void {
    // SAFETY: `user_data` is the `PortAccess` passed by `Instance::save`; `symbol` is a C
    // string and `size`/`type_` valid out-pointers (lilv.h).
    unsafe {
        let access = &*user_data.cast::<PortAccess>();
        let symbol = CStr::from_ptr(symbol).to_string_lossy();
        match access.indices.get(symbol.as_ref()) {
            Some(&index) => {
                *size = 4;
                *type_ = access.float;
                ptr::from_ref(&access.controls[index as usize]).cast()
            }
            None => {
                *size = 0;
                *type_ = 0;
                ptr::null()
            }
        }
    }
}

unsafe extern "C" fn set_port_value(
    symbol: *const c_char,
    user_data: *mut c_void,
    value: *const c_void,
    size: u32,
    type_: u32,
) {
    // SAFETY: `user_data` is the `PortAccess` passed by `Instance::restore`; `value` holds
    // `size` bytes of type `type_` (lilv.h).
    unsafe {
        let access = &mut *user_data.cast::<PortAccess>();
        let symbol = CStr::from_ptr(symbol).to_string_lossy();
        let Some(&index) = access.indices.get(symbol.as_ref()) else {
            access
                .errors
                .push(format!("the state sets an unknown port {symbol}"));
            return;
        };
        let v = match (type_, size) {
            (t, 4) if t == access.float => value.cast::<f32>().read_unaligned(),
            (t, 8) if t == access.double => value.cast::<f64>().read_unaligned() as f32,
            (t, 4) if t == access.int || t == access.bool_ => {
                value.cast::<i32>().read_unaligned() as f32
            }
            (t, 8) if t == access.long => value.cast::<i64>().read_unaligned() as f32,
            _ => {
                access
                    .errors
                    .push(format!("port {symbol}: value of type {type_}, size {size}"));
                return;
            }
        };
        access.controls[index as usize] = v;
    }
}

impl Instance<'_, '_> {
    fn descriptor(&self) -> &Descriptor {
        // SAFETY: a live instance has a valid descriptor (lilv.h).
        unsafe { &*(*self.instance).lv2_descriptor }
    }

    fn handle(&self) -> *mut c_void {
        // SAFETY: a live instance.
        unsafe { (*self.instance).lv2_handle }
    }

    fn access<'a>(&'a mut self, indices: &'a HashMap<String, u32>) -> PortAccess<'a> {
        let urids = &self.plugin.world.urids;
        PortAccess {
            float: urids.urid(c"http://lv2plug.in/ns/ext/atom#Float"),
            double: urids.urid(c"http://lv2plug.in/ns/ext/atom#Double"),
            int: urids.urid(c"http://lv2plug.in/ns/ext/atom#Int"),
            long: urids.urid(c"http://lv2plug.in/ns/ext/atom#Long"),
            bool_: urids.urid(c"http://lv2plug.in/ns/ext/atom#Bool"),
            controls: &mut self.controls,
            indices,
            errors: Vec::new(),
        }
    }

    /// Restore `state` (the plugin's own state, then the port values it holds) with
    /// `lilv_state_restore`. `indices` maps control symbols to port indices.
    pub fn restore(&mut self, state: &State, indices: &HashMap<String, u32>) {
        let instance = self.instance;
        let features = self.plugin.world.urids.features();
        let restore = self.plugin.world.api().state_restore;
        let mut access = self.access(indices);
        // SAFETY: a live state and instance; our callback and its `PortAccess`, which
        // outlives the call.
        unsafe {
            restore(
                state.state,
                instance,
                Some(set_port_value),
                ptr::from_mut(&mut access).cast(),
                0,
                features.as_ptr(),
            );
        }
        assert!(access.errors.is_empty(), "{:?}", access.errors);
    }

    /// The instance's state as `lilv_state_to_string` writes it: its own state (the plugin's
    /// `save`) and the values of the control ports in `indices`.
    pub fn save_to_string(&mut self, indices: &HashMap<String, u32>) -> String {
        let world = self.plugin.world;
        let plugin = self.plugin.plugin;
        let instance = self.instance;
        let features = world.urids.features();
        let mut access = self.access(indices);
        let api = world.api();
        let map = ptr::from_ref(&world.urids.map).cast_mut();
        let unmap = ptr::from_ref(&world.urids.unmap).cast_mut();
        // SAFETY: a live plugin, instance and map; null folders (no files in this state);
        // our callback and its `PortAccess`, which outlives the call.
        unsafe {
            let state = (api.state_new_from_instance)(
                plugin,
                instance,
                map,
                ptr::null(),
                ptr::null(),
                ptr::null(),
                ptr::null(),
                get_port_value,
                ptr::from_mut(&mut access).cast(),
                0,
                features.as_ptr(),
            );
            assert!(!state.is_null(), "lilv_state_new_from_instance failed");
            let text = (api.state_to_string)(
                world.world,
                map,
                unmap,
                state,
                c"urn:sourcery:test-state".as_ptr(),
                ptr::null(),
            );
            (api.state_free)(state);
            assert!(!text.is_null(), "lilv_state_to_string failed");
            let out = CStr::from_ptr(text).to_string_lossy().into_owned();
            (api.free)(text.cast());
            out
        }
    }

    /// Connect every control port to `controls`, activate, and process `input` (one buffer
    /// per channel; audio ports `audio_in`/`audio_out` by index) in runs of `block` frames.
    pub fn activate_and_process(
        &mut self,
        audio_in: &[u32],
        audio_out: &[u32],
        input: &[Vec<f32>],
        block: usize,
    ) -> Vec<Vec<f32>> {
        let d = self.descriptor();
        let (connect, activate, run, deactivate) = (
            d.connect_port.unwrap(),
            d.activate.unwrap(),
            d.run.unwrap(),
            d.deactivate.unwrap(),
        );
        let handle = self.handle();
        let audio: Vec<u32> = audio_in.iter().chain(audio_out).copied().collect();
        for (index, value) in self.controls.iter_mut().enumerate() {
            if !audio.contains(&(index as u32)) {
                // SAFETY: a live handle; `controls` outlives every run below.
                unsafe { connect(handle, index as u32, ptr::from_mut(value).cast()) };
            }
        }
        let frames = input[0].len();
        let mut output = vec![vec![0.0f32; frames]; input.len()];
        // SAFETY: a live handle, activated once before running.
        unsafe { activate(handle) };
        let mut start = 0;
        while start < frames {
            let n = block.min(frames - start);
            for (ch, (&i, &o)) in audio_in.iter().zip(audio_out).enumerate() {
                // SAFETY: both buffers hold `n` frames from `start` during the run.
                unsafe {
                    connect(handle, i, input[ch][start..].as_ptr().cast_mut().cast());
                    connect(handle, o, output[ch][start..].as_mut_ptr().cast());
                }
            }
            // SAFETY: every connected buffer holds `n` frames.
            unsafe { run(handle, n as u32) };
            start += n;
        }
        // SAFETY: a live, active handle.
        unsafe { deactivate(handle) };
        output
    }
}

impl Drop for Instance<'_, '_> {
    fn drop(&mut self) {
        // SAFETY: created by `lilv_plugin_instantiate`, freed once (cleanup included).
        unsafe { (self.plugin.world.api().instance_free)(self.instance) };
    }
}

/// A lilv state (a preset or a saved instance state).
pub struct State<'w> {
    world: &'w World,
    state: *mut c_void,
}

impl State<'_> {
    /// Its `rdfs:label`, if any.
    pub fn label(&self) -> Option<String> {
        // SAFETY: a live state; the label belongs to it.
        let label = unsafe { (self.world.api().state_get_label)(self.state) };
        // SAFETY: a non-null label is a C string.
        (!label.is_null()).then(|| {
            unsafe { CStr::from_ptr(label) }
                .to_string_lossy()
                .into_owned()
        })
    }
}

impl Drop for State<'_> {
    fn drop(&mut self) {
        // SAFETY: created by a `lilv_state_new_*`, freed once.
        unsafe { (self.world.api().state_free)(self.state) };
    }
}
