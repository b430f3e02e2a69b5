//! The editor of the built `Sourcery.clap` opened and closed 20 times by a CLAP host, the way
//! a DAW embeds it on Linux: known upstream issue nih-plug #98 is that editors can go blank
//! after being reopened.
//!
//! The test process runs an X server when there is none (`Xvfb -displayfd`, on a free
//! display, stopped by a drop guard) and starts itself again as a child process on that
//! display, with an overall time limit, so that a crash, an abort or a hang in the plugin
//! fails the test instead of taking the X server or the test run with it. The child:
//!
//! 1. loads the bundle with `clack-host`, instantiates the plugin and checks the gui
//!    extension's API negotiation (embedded `x11`);
//! 2. activates it and runs an audio thread that processes a sine in real time, as a DAW
//!    does while the editor is open;
//! 3. 20 times: `create` (x11, not floating), `get_size` (and `set_size` to it when the
//!    editor is resizable), creates an X11 parent window of that size, `set_parent`, `show`,
//!    lets it draw for [`DRAW_TIME`] while servicing the plugin's main-thread callbacks,
//!    captures the parent window with ImageMagick (`import -window <id>`), counts its colours
//!    (`identify -format %k`; more than [`MIN_COLOURS`], i.e. not blank), `hide`, `destroy`,
//!    and checks that the editor's window is gone from the parent;
//! 4. checks that the last capture looks like the first (colour counts within a factor 2) and
//!    that the process has no more threads than after the first cycle (plus a little slack),
//!    then deactivates and destroys the plugin.
//!
//! The host implements what nice-plug uses: `clap_host.request_callback` (serviced on the
//! main thread, which is how baseview's X11 window thread hands work to the main thread),
//! `clap_host_gui` (required: nice-plug panics in `gui.create` without it; `request_resize`
//! resizes the parent window), `clap_host_thread_check` and `clap_host_log`. nice-plug asks
//! for no timers or file descriptors (`timer-support`, `posix-fd-support`).
//!
//! Captures go to `target/host_clap_gui/cycle-NN.png` for inspection. Needs the Debian
//! packages `xvfb` (when `DISPLAY` is unset) and `imagemagick`; without them the test is
//! skipped, or fails when `CI=true`.

use std::ffi::CString;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{sleep, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use clack_extensions::audio_ports::PluginAudioPorts;
use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui, Window,
};
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_host::prelude::*;
use sourcery_tests::{bundle, bundle_dir, have_program, sine, skip_unless, CLAP_ID};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    ConfigureWindowAux, ConnectionExt as _, CreateWindowAux, EventMask, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::COPY_DEPTH_FROM_PARENT;

/// Open/close cycles.
const CYCLES: usize = 20;
/// Time the editor gets to draw after `show`, with main-thread callbacks serviced.
const DRAW_TIME: Duration = Duration::from_millis(700);
/// A capture with at most this many colours counts as blank.
const MIN_COLOURS: u64 = 50;
/// Further captures, [`RETRY_DELAY`] apart, when one looks blank (slow first frame).
const BLANK_RETRIES: u32 = 4;
const RETRY_DELAY: Duration = Duration::from_millis(500);
/// Allowed ratio between the colour counts of the first and the last capture.
const COLOUR_RATIO: f64 = 2.0;
/// Threads the process may have after the last cycle beyond those after the first.
const THREAD_SLACK: usize = 2;
/// Limit for the whole child process (20 cycles take about 20 s).
const OVERALL_TIMEOUT: Duration = Duration::from_secs(240);
/// Main-thread servicing interval.
const PUMP_INTERVAL: Duration = Duration::from_millis(5);
const SAMPLE_RATE: f64 = 48_000.0;
const BLOCK: usize = 512;
/// Xvfb's screen: larger than the editor.
const XVFB_SCREEN: &str = "1600x1000x24";
/// Set (to the plugin path) in the child process that drives the editor.
const CHILD_ENV: &str = "SOURCERY_CLAP_GUI_CHILD";
/// This test's name, for the child process's test filter.
const TEST_NAME: &str = "editor_survives_open_close_cycles";

// ---------------------------------------------------------------------------------------
// Parent: prerequisites, X server, child process with a time limit.

#[test]
fn editor_survives_open_close_cycles() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child_main(Path::new(&path));
        return;
    }
    let Some(path) = bundle("Sourcery.clap") else {
        return;
    };
    let own_server = std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty());
    let mut tools = vec!["import", "identify"];
    if own_server {
        tools.insert(0, "Xvfb");
    }
    let missing: Vec<&str> = tools.into_iter().filter(|t| !have_program(t)).collect();
    if !skip_unless(
        missing.is_empty(),
        &format!("{} (for the editor test)", missing.join(", ")),
        "Install with: apt-get install -y xvfb imagemagick",
    ) {
        return;
    }

    let xvfb = own_server.then(|| Xvfb::start().unwrap_or_else(|e| panic!("{e}")));
    let display = match &xvfb {
        Some(x) => x.display.clone(),
        None => std::env::var("DISPLAY").expect("DISPLAY is set"),
    };
    let out_dir = bundle_dir()
        .parent()
        .expect("the bundle folder has a parent")
        .join("host_clap_gui");
    std::fs::create_dir_all(&out_dir).expect("create the capture folder");
    let log_path = out_dir.join("child.log");
    let log = File::create(&log_path).expect("create the child's log");

    let started = Instant::now();
    let child = Command::new(std::env::current_exe().expect("the test executable"))
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .env("DISPLAY", &display)
        .env("SOURCERY_CLAP_GUI_OUT", &out_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("clone the log file"))
        .stderr(log)
        .spawn()
        .expect("start the child test process");
    let mut child = KillOnDrop(child);
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() > OVERALL_TIMEOUT {
            break None;
        }
        sleep(Duration::from_millis(50));
    };
    drop(child);
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    // The child's report (or its failure) is shown in full.
    println!("--- editor test on DISPLAY={display} (child output) ---\n{output}");
    match status {
        None => panic!(
            "the editor test did not finish within {} s (a hang); child killed, output above",
            OVERALL_TIMEOUT.as_secs()
        ),
        Some(s) if !s.success() => {
            panic!(
                "the editor test failed ({s}); output above and in {}",
                log_path.display()
            )
        }
        Some(_) => {}
    }
    assert!(
        output.contains("EDITOR CYCLES OK"),
        "the child process did not run the editor test (output above)"
    );
    // The plugin's own logger (nice-plug, baseview) writes to stderr: summarise it.
    for level in ["WARN", "ERROR"] {
        let lines: Vec<&str> = output
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with(level))
            .collect();
        let mut distinct = lines.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if !lines.is_empty() {
            println!(
                "plugin stderr: {} {level} line(s): {distinct:?}",
                lines.len()
            );
        }
    }
    println!(
        "editor test: {:.1} s in total",
        started.elapsed().as_secs_f64()
    );
    drop(xvfb);
}

/// Kills and reaps a child process when dropped (on success, panic or timeout alike).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// An `Xvfb` server on a display it picks itself (`-displayfd`); stopped when dropped.
struct Xvfb {
    _server: KillOnDrop,
    display: String,
}

impl Xvfb {
    fn start() -> Result<Self, String> {
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                XVFB_SCREEN,
                "-nolisten",
                "tcp",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start Xvfb: {e}"))?;
        let stdout = server.stdout.take().expect("piped stdout");
        let server = KillOnDrop(server);
        // Xvfb writes the display number once it accepts connections (EOF if it fails).
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| "Xvfb did not report a display within 20 s".to_string())?;
        let number: u32 = line
            .trim()
            .parse()
            .map_err(|_| format!("Xvfb did not start (it reported {:?})", line.trim()))?;
        Ok(Self {
            _server: server,
            display: format!(":{number}"),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Child: the host.

fn child_main(path: &Path) {
    let out_dir = std::env::var_os("SOURCERY_CLAP_GUI_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let started = Instant::now();
    match run_cycles(path, &out_dir) {
        Ok(()) => println!(
            "EDITOR CYCLES OK: {CYCLES} cycles in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        Err(e) => panic!("{e}"),
    }
}

struct GuiHost;

/// Host state the plugin may reach from any thread.
struct Shared {
    main_thread: ThreadId,
    callback_requested: AtomicBool,
    /// Latest `clap_host_gui.request_resize`, applied to the parent window on the main thread.
    resize_request: Mutex<Option<GuiSize>>,
    closed_calls: AtomicU32,
    /// Plugin log messages at warning level or above.
    problems: Mutex<Vec<String>>,
}

impl SharedHandler<'_> for Shared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback_requested.store(true, Ordering::SeqCst);
    }
}

impl HostLogImpl for Shared {
    fn log(&self, severity: LogSeverity, message: &str) {
        eprintln!("[plugin log, {severity}] {message}");
        if matches!(
            severity,
            LogSeverity::Warning | LogSeverity::Error | LogSeverity::Fatal
        ) {
            self.problems
                .lock()
                .unwrap()
                .push(format!("{severity}: {message}"));
        }
    }
}

thread_local! {
    static IS_AUDIO_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl HostThreadCheckImpl for Shared {
    fn is_main_thread(&self) -> bool {
        std::thread::current().id() == self.main_thread
    }
    fn is_audio_thread(&self) -> bool {
        IS_AUDIO_THREAD.with(std::cell::Cell::get)
    }
}

impl HostGuiImpl for Shared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, new_size: GuiSize) -> Result<(), HostError> {
        *self.resize_request.lock().unwrap() = Some(new_size);
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {
        self.closed_calls.fetch_add(1, Ordering::SeqCst);
    }
}

struct MainThread;

impl MainThreadHandler<'_> for MainThread {}

impl HostHandlers for GuiHost {
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLog>()
            .register::<HostThreadCheck>()
            .register::<HostGui>();
    }
}

/// Runs `process()` on a sine in real time until stopped, as a DAW's audio thread does.
struct AudioThread {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Result<StoppedPluginAudioProcessor<GuiHost>, String>>,
}

impl AudioThread {
    fn start(processor: StoppedPluginAudioProcessor<GuiHost>, channels: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("clap-audio".into())
            .spawn(move || audio_main(processor, channels, &flag))
            .expect("spawn the audio thread");
        Self { stop, handle }
    }

    fn stop(self) -> Result<StoppedPluginAudioProcessor<GuiHost>, String> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .join()
            .map_err(|_| "the audio thread panicked".to_string())?
    }
}

fn audio_main(
    processor: StoppedPluginAudioProcessor<GuiHost>,
    channels: usize,
    stop: &AtomicBool,
) -> Result<StoppedPluginAudioProcessor<GuiHost>, String> {
    IS_AUDIO_THREAD.with(|f| f.set(true));
    let mut processor = PluginAudioProcessor::from(processor);
    let signal = sine(1000.0, SAMPLE_RATE, SAMPLE_RATE as usize, 0.5);
    let mut inputs = vec![vec![0.0f32; BLOCK]; channels];
    let mut outputs = vec![vec![0.0f32; BLOCK]; channels];
    let mut input_ports = AudioPorts::with_capacity(channels, 1);
    let mut output_ports = AudioPorts::with_capacity(channels, 1);
    let in_events = EventBuffer::new();
    let mut out_events = EventBuffer::with_capacity(256);
    let block_time = Duration::from_secs_f64(BLOCK as f64 / SAMPLE_RATE);
    let started = Instant::now();
    let mut steady_time = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let pos = steady_time as usize % (signal.len() - BLOCK);
        for buf in &mut inputs {
            buf.copy_from_slice(&signal[pos..pos + BLOCK]);
        }
        let audio_in = input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                inputs
                    .iter_mut()
                    .map(|b| InputChannel::variable(&mut b[..])),
            ),
        }]);
        let mut audio_out = output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(outputs.iter_mut().map(|b| &mut b[..])),
        }]);
        out_events.clear();
        processor
            .ensure_processing_started()
            .map_err(|e| format!("start_processing failed: {e}"))?
            .process(
                &audio_in,
                &mut audio_out,
                &in_events.as_input(),
                &mut out_events.as_output(),
                Some(steady_time),
                None,
            )
            .map_err(|e| format!("process() failed at frame {steady_time}: {e}"))?;
        if let Some(i) = outputs.iter().flatten().position(|v| !v.is_finite()) {
            return Err(format!(
                "non-finite output sample {i} at frame {steady_time}"
            ));
        }
        steady_time += BLOCK as u64;
        // Real-time pace: the editor's meters see the signal as they would in a DAW.
        let due = block_time * (steady_time / BLOCK as u64) as u32;
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            sleep(wait);
        }
    }
    Ok(processor.into_stopped())
}

/// Number of threads of this process.
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

/// Runs the plugin's main-thread callback if it asked for one, and applies a resize request
/// to the parent window.
fn pump(
    instance: &mut PluginInstance<GuiHost>,
    conn: &RustConnection,
    parent: Option<u32>,
) -> Result<(), String> {
    let requested =
        instance.access_shared_handler(|s| s.callback_requested.swap(false, Ordering::SeqCst));
    if requested {
        instance.call_on_main_thread_callback();
    }
    let resize = instance.access_shared_handler(|s| s.resize_request.lock().unwrap().take());
    if let (Some(size), Some(window)) = (resize, parent) {
        eprintln!(
            "plugin requested a resize to {}x{}",
            size.width, size.height
        );
        conn.configure_window(
            window,
            &ConfigureWindowAux::new()
                .width(size.width)
                .height(size.height),
        )
        .map_err(x11_err)?;
        conn.flush().map_err(x11_err)?;
    }
    Ok(())
}

/// Services the main thread for `time`.
fn pump_for(
    instance: &mut PluginInstance<GuiHost>,
    conn: &RustConnection,
    parent: Option<u32>,
    time: Duration,
) -> Result<(), String> {
    let until = Instant::now() + time;
    loop {
        pump(instance, conn, parent)?;
        if Instant::now() >= until {
            return Ok(());
        }
        sleep(PUMP_INTERVAL);
    }
}

fn x11_err(e: impl std::fmt::Display) -> String {
    format!("X11: {e}")
}

/// Round trip to the X server: every earlier request has been handled.
fn x11_sync(conn: &RustConnection) -> Result<(), String> {
    conn.get_input_focus()
        .map_err(x11_err)?
        .reply()
        .map_err(x11_err)?;
    Ok(())
}

/// A mapped top-level window with a black background, the editor's parent.
fn create_parent(conn: &RustConnection, screen: usize, size: GuiSize) -> Result<u32, String> {
    let root = &conn.setup().roots[screen];
    let window = conn.generate_id().map_err(x11_err)?;
    conn.create_window(
        COPY_DEPTH_FROM_PARENT,
        window,
        root.root,
        0,
        0,
        size.width as u16,
        size.height as u16,
        0,
        WindowClass::INPUT_OUTPUT,
        0, // CopyFromParent visual
        &CreateWindowAux::new()
            .background_pixel(root.black_pixel)
            .event_mask(EventMask::STRUCTURE_NOTIFY),
    )
    .map_err(x11_err)?;
    conn.map_window(window).map_err(x11_err)?;
    conn.flush().map_err(x11_err)?;
    x11_sync(conn)?;
    Ok(window)
}

fn children(conn: &RustConnection, window: u32) -> Result<Vec<u32>, String> {
    Ok(conn
        .query_tree(window)
        .map_err(x11_err)?
        .reply()
        .map_err(x11_err)?
        .children)
}

/// Captures `window` to `file`, returns its number of distinct colours.
fn capture(window: u32, file: &Path) -> Result<u64, String> {
    let run = |command: &mut Command| -> Result<String, String> {
        let output = command
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {command:?}: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "{command:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    run(Command::new("import")
        .args(["-window", &format!("0x{window:x}")])
        .arg(file))?;
    let colours = run(Command::new("identify").args(["-format", "%k"]).arg(file))?;
    colours
        .parse()
        .map_err(|_| format!("identify -format %k gave {colours:?}"))
}

struct Cycle {
    colours: u64,
    tries: u32,
    size: GuiSize,
}

fn run_cycles(path: &Path, out_dir: &Path) -> Result<(), String> {
    let (conn, screen) = x11rb::connect(None).map_err(|e| format!("cannot connect to X: {e}"))?;

    // SAFETY: loads the plugin under test, built from this workspace.
    let entry = unsafe { PluginEntry::load(path) }
        .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    let host_info = HostInfo::new(
        "sourcery-tests-gui",
        "Sourcery",
        "https://sourcery.audio",
        env!("CARGO_PKG_VERSION"),
    )
    .map_err(|e| e.to_string())?;
    let id = CString::new(CLAP_ID).unwrap();
    let mut instance = PluginInstance::<GuiHost>::new(
        |_| Shared {
            main_thread: std::thread::current().id(),
            callback_requested: AtomicBool::new(false),
            resize_request: Mutex::new(None),
            closed_calls: AtomicU32::new(0),
            problems: Mutex::new(Vec::new()),
        },
        |_| MainThread,
        &entry,
        &id,
        &host_info,
    )
    .map_err(|e| format!("cannot instantiate {CLAP_ID}: {e}"))?;
    pump(&mut instance, &conn, None)?;

    let gui = instance
        .plugin_handle()
        .get_extension::<PluginGui>()
        .ok_or("the plugin has no gui extension")?;
    let embedded = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    let floating = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: true,
    };
    let preferred = gui.get_preferred_api(&instance.plugin_handle());
    let embedded_ok = gui.is_api_supported(&instance.plugin_handle(), embedded);
    let floating_ok = gui.is_api_supported(&instance.plugin_handle(), floating);
    println!(
        "gui: preferred {preferred:?}; x11 embedded supported: {embedded_ok}; \
         x11 floating supported: {floating_ok}"
    );
    if !embedded_ok {
        return Err("the plugin does not support an embedded x11 editor".into());
    }
    if let Some(p) = preferred {
        if p.api_type != GuiApiType::X11 || p.is_floating {
            return Err(format!("preferred api {p:?}, expected embedded x11"));
        }
    }

    // Activate with the default (main) ports and process audio while the editor is used.
    let ports = instance
        .plugin_handle()
        .get_extension::<PluginAudioPorts>()
        .ok_or("the plugin has no audio-ports extension")?;
    let mut buffer = clack_extensions::audio_ports::AudioPortInfoBuffer::new();
    let mut channels = |is_input| {
        ports
            .get(&instance.plugin_handle(), 0, is_input, &mut buffer)
            .map_or(0, |p| p.channel_count)
    };
    let (ch_in, ch_out) = (channels(true), channels(false));
    if ch_in != ch_out || ch_in == 0 {
        return Err(format!("main ports {ch_in} in / {ch_out} out"));
    }
    let processor = instance
        .activate(
            |_, _| (),
            PluginAudioConfiguration {
                sample_rate: SAMPLE_RATE,
                min_frames_count: 1,
                max_frames_count: BLOCK as u32,
            },
        )
        .map_err(|e| format!("activate failed: {e}"))?;
    let audio = AudioThread::start(processor, ch_in as usize);
    pump_for(&mut instance, &conn, None, Duration::from_millis(100))?;

    let threads_before = thread_count();
    let mut threads_after_first = 0;
    let mut threads_open = Vec::new();
    let mut cycles: Vec<Cycle> = Vec::new();
    let started = Instant::now();
    for n in 1..=CYCLES {
        let what = format!("cycle {n}/{CYCLES}");
        gui.create(&instance.plugin_handle(), embedded)
            .map_err(|e| format!("{what}: gui.create(x11, embedded) failed: {e}"))?;
        let mut size = gui
            .get_size(&instance.plugin_handle())
            .ok_or_else(|| format!("{what}: gui.get_size failed"))?;
        if !(100..=4096).contains(&size.width) || !(100..=4096).contains(&size.height) {
            return Err(format!(
                "{what}: implausible size {}x{}",
                size.width, size.height
            ));
        }
        let resizable = gui.can_resize(&instance.plugin_handle());
        if n == 1 {
            println!(
                "editor: {}x{} px, resizable: {resizable}, resize hints: {:?}",
                size.width,
                size.height,
                gui.get_resize_hints(&instance.plugin_handle())
            );
        }
        if resizable {
            // Confirm the editor's own size, as a host does after sizing its window.
            gui.set_size(&instance.plugin_handle(), size)
                .map_err(|e| format!("{what}: set_size to its own size failed: {e}"))?;
            size = gui
                .get_size(&instance.plugin_handle())
                .ok_or_else(|| format!("{what}: get_size after set_size failed"))?;
        }
        let parent = create_parent(&conn, screen, size)?;
        // SAFETY: the parent window exists until after `destroy` below.
        unsafe {
            gui.set_parent(
                &instance.plugin_handle(),
                Window::from_x11_handle(parent.into()),
            )
        }
        .map_err(|e| format!("{what}: set_parent failed: {e}"))?;
        gui.show(&instance.plugin_handle())
            .map_err(|e| format!("{what}: show failed: {e}"))?;
        pump_for(&mut instance, &conn, Some(parent), DRAW_TIME)?;
        if children(&conn, parent)?.is_empty() {
            return Err(format!("{what}: the editor's window is not in the parent"));
        }
        threads_open.push(thread_count());

        let file = out_dir.join(format!("cycle-{n:02}.png"));
        let mut tries = 1;
        let colours = loop {
            let colours = capture(parent, &file).map_err(|e| format!("{what}: {e}"))?;
            if colours > MIN_COLOURS || tries > BLANK_RETRIES {
                break colours;
            }
            tries += 1;
            pump_for(&mut instance, &conn, Some(parent), RETRY_DELAY)?;
        };
        println!(
            "{what}: {}x{}, {colours} colours{}",
            size.width,
            size.height,
            if tries > 1 {
                format!(" (capture {tries})")
            } else {
                String::new()
            }
        );
        if colours <= MIN_COLOURS {
            return Err(format!(
                "{what}: the editor is blank ({colours} colours, want > {MIN_COLOURS}) \
                 {:.1} s after show; see {}",
                DRAW_TIME.as_secs_f64() + f64::from(BLANK_RETRIES) * RETRY_DELAY.as_secs_f64(),
                file.display()
            ));
        }

        gui.hide(&instance.plugin_handle())
            .map_err(|e| format!("{what}: hide failed: {e}"))?;
        pump(&mut instance, &conn, Some(parent))?;
        gui.destroy(&instance.plugin_handle());
        pump_for(&mut instance, &conn, None, Duration::from_millis(20))?;
        x11_sync(&conn)?;
        let left = children(&conn, parent)?;
        if !left.is_empty() {
            return Err(format!(
                "{what}: the editor's window(s) {left:x?} remain in the parent after destroy"
            ));
        }
        conn.destroy_window(parent).map_err(x11_err)?;
        conn.flush().map_err(x11_err)?;
        if n == 1 {
            threads_after_first = thread_count();
        }
        cycles.push(Cycle {
            colours,
            tries,
            size,
        });
    }
    let cycles_time = started.elapsed();
    let threads_after = thread_count();

    let stopped = audio.stop()?;
    instance.deactivate(stopped);
    pump(&mut instance, &conn, None)?;
    let closed_calls = instance.access_shared_handler(|s| s.closed_calls.load(Ordering::SeqCst));
    let problems = instance.access_shared_handler(|s| s.problems.lock().unwrap().clone());
    drop(instance);
    drop(entry);

    let first = &cycles[0];
    let last = &cycles[CYCLES - 1];
    let counts: Vec<u64> = cycles.iter().map(|c| c.colours).collect();
    println!(
        "{CYCLES} cycles in {:.1} s; colours per cycle {counts:?} (first {}, last {}, \
         min {}, max {}); retried captures: {}",
        cycles_time.as_secs_f64(),
        first.colours,
        last.colours,
        counts.iter().min().unwrap(),
        counts.iter().max().unwrap(),
        cycles.iter().filter(|c| c.tries > 1).count()
    );
    println!(
        "threads: {threads_before} before the cycles, {threads_after_first} after the first, \
         {threads_after} after the last; while the editor was open: {threads_open:?}"
    );
    println!("gui.closed() calls from the plugin: {closed_calls}");
    let ratio = first.colours.max(last.colours) as f64 / first.colours.min(last.colours) as f64;
    if ratio > COLOUR_RATIO {
        return Err(format!(
            "the last capture ({} colours) does not look like the first ({} colours): \
             ratio {ratio:.2} > {COLOUR_RATIO}",
            last.colours, first.colours
        ));
    }
    if cycles.iter().any(|c| c.size != first.size) {
        return Err(format!(
            "the editor's size changed across cycles: {:?}",
            cycles.iter().map(|c| c.size).collect::<Vec<_>>()
        ));
    }
    if threads_after > threads_after_first + THREAD_SLACK {
        return Err(format!(
            "threads grow with each open/close: {threads_after_first} after the first cycle, \
             {threads_after} after {CYCLES}"
        ));
    }
    if !problems.is_empty() {
        return Err(format!(
            "the plugin logged warnings or errors: {problems:#?}"
        ));
    }
    Ok(())
}
