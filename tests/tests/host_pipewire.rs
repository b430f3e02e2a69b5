//! System-wide listening on Linux: `sourcery export pipewire`'s configuration loaded by a
//! real PipeWire daemon (its filter-chain module hosts the Sourcery LV2 as a virtual sink).
//!
//! The test starts its own daemon (`pipewire` with a config of its own: a null sink as the
//! driver, the exported file as a `pipewire.conf.d` drop-in) and WirePlumber in its own
//! D-Bus session, plays a test signal into the Sourcery sink with `pw-play`, records the
//! null sink with `pw-record`, and checks that the recording shows the voicing: the NOS
//! hold's droop at 20 kHz equals the renderer's within 0.2 dB.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sourcery_dsp::dac::DacMode;
use sourcery_dsp::presets::{DeviceSlot, HeadphoneSlot};
use sourcery_dsp::Settings;
use sourcery_tests::{bundle, have_program, read_wav, skip_unless, write_wav};

const RATE: u32 = 48_000;

/// The daemon's own configuration: the modules a filter-chain and clients need, and a null
/// sink that drives the graph.
const DAEMON_CONF: &str = r#"
context.properties = {
    core.daemon = true
    core.name = pipewire-0
    default.clock.rate = 48000
    default.clock.allowed-rates = [ 48000 ]
}
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    support.*       = support/libspa-support
}
context.modules = [
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-access }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
]
context.objects = [
    { factory = adapter
        args = {
            factory.name   = support.null-audio-sink
            node.name      = null_sink
            media.class    = Audio/Sink
            audio.position = [ FL FR ]
            node.driver    = true
        }
    }
]
"#;

/// Processes started in their own process group, all stopped on drop.
struct Daemons(Vec<Child>);

/// Sends `signal` to the process group `child` leads (each is spawned with
/// `process_group(0)`). Not through the `kill` command: Debian 12's procps 4.0.2 parses
/// `kill -TERM -12345` as `kill(-1, SIGTERM)` (seen with strace), which signals every
/// process the user may signal and ended the whole sandbox when this test ran.
fn signal_group(child: &Child, signal: libc::c_int) {
    let group = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    assert!(group > 1, "process group {group}");
    // SAFETY: kill(2) with a negative pid > 1 signals only that process group.
    unsafe { libc::kill(-group, signal) };
}

impl Drop for Daemons {
    fn drop(&mut self) {
        for child in &mut self.0 {
            signal_group(child, libc::SIGTERM);
        }
        for child in &mut self.0 {
            let deadline = Instant::now() + Duration::from_secs(2);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            signal_group(child, libc::SIGKILL);
            let _ = child.wait();
        }
    }
}

fn spawn(cmd: &mut Command, log: &Path) -> Child {
    use std::os::unix::process::CommandExt;
    let file = std::fs::File::create(log).unwrap();
    cmd.stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// Two stereo tones back to back: 1 s of 1 kHz, then 1 s of 20 kHz, both at 0.25.
fn test_signal() -> Vec<Vec<f32>> {
    let tone = |f: f64| {
        (0..RATE as usize).map(move |n| {
            (0.25 * (std::f64::consts::TAU * f * n as f64 / f64::from(RATE)).sin()) as f32
        })
    };
    let x: Vec<f32> = tone(1000.0).chain(tone(20_000.0)).collect();
    vec![x.clone(), x]
}

/// 20 kHz re 1 kHz (dB) in a recording of [`test_signal`]: the RMS of each tone's middle
/// 0.8 s, found from where the signal starts.
fn droop_db(x: &[f32]) -> (f64, usize) {
    let start = x
        .windows(48)
        .position(|w| w.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / 48.0 > 1e-3)
        .expect("the recording has the signal");
    let rms = |a: usize, b: usize| {
        (x[start + a..start + b]
            .iter()
            .map(|v| f64::from(*v).powi(2))
            .sum::<f64>()
            / (b - a) as f64)
            .sqrt()
    };
    let (lo, hi) = (rms(4_800, 43_200), rms(52_800, 91_200));
    (20.0 * (hi / lo).log10(), start)
}

#[test]
fn pipewire_hosts_the_exported_sink_and_the_recording_shows_the_nos_droop() {
    let tools = [
        "pipewire",
        "wireplumber",
        "dbus-run-session",
        "pw-play",
        "pw-record",
        "pw-cli",
    ];
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !have_program(t)).collect();
    if !skip_unless(
        missing.is_empty(),
        &format!("PipeWire's tools ({})", missing.join(", ")),
        "Install them with `sudo apt-get install pipewire pipewire-bin \
         libpipewire-0.3-modules wireplumber dbus`.",
    ) {
        return;
    }
    let Some(lv2) = bundle("Sourcery.lv2") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("sourcery-pipewire-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (run, conf, lv2_path) = (dir.join("run"), dir.join("conf"), dir.join("lv2"));
    for d in [&run, &conf.join("pipewire.conf.d"), &lv2_path] {
        std::fs::create_dir_all(d).unwrap();
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // Only the LV2 bundle on LV2_PATH (lilv would complain about the CLAP and VST3 ones).
    std::os::unix::fs::symlink(&lv2, lv2_path.join("Sourcery.lv2")).unwrap();
    std::fs::write(conf.join("pipewire.conf"), DAEMON_CONF).unwrap();

    // The K13 in NOS mode on the HD600, exported as a user would install it.
    let settings = Settings {
        device: DeviceSlot::by_id("fiio-k13-r2r").unwrap(),
        headphone: HeadphoneSlot::by_id("sennheiser-hd600").unwrap(),
        dac_mode: DacMode::Nos,
        ..Settings::default()
    };
    let exported = sourcery_cli::export::pipewire(&settings, Some("null_sink")).unwrap();
    std::fs::write(conf.join("pipewire.conf.d/sourcery.conf"), &exported).unwrap();

    // Clients (WirePlumber, pw-cli, pw-play, pw-record) read the system's client.conf; only
    // the daemon reads this test's configuration.
    let env = |cmd: &mut Command| {
        cmd.env("XDG_RUNTIME_DIR", &run)
            .env("LV2_PATH", &lv2_path)
            .env_remove("PIPEWIRE_CONFIG_DIR")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
    };
    let mut daemons = Daemons(Vec::new());
    let mut pipewire = Command::new("pipewire");
    env(&mut pipewire);
    pipewire.env("PIPEWIRE_CONFIG_DIR", &conf);
    daemons
        .0
        .push(spawn(&mut pipewire, &dir.join("pipewire.log")));
    std::thread::sleep(Duration::from_millis(500));
    let mut wireplumber = Command::new("dbus-run-session");
    wireplumber.args(["--", "wireplumber"]);
    env(&mut wireplumber);
    daemons
        .0
        .push(spawn(&mut wireplumber, &dir.join("wireplumber.log")));

    // Wait for the filter-chain's sink.
    let started = Instant::now();
    loop {
        let mut ls = Command::new("pw-cli");
        ls.args(["ls", "Node"]);
        env(&mut ls);
        let out = ls.output().unwrap();
        if String::from_utf8_lossy(&out.stdout).contains("\"sourcery_input\"") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the Sourcery sink did not appear; pipewire log:\n{}",
            std::fs::read_to_string(dir.join("pipewire.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Let WirePlumber link the chain's output to the null sink.
    std::thread::sleep(Duration::from_secs(1));

    let input = test_signal();
    let (in_wav, out_wav) = (dir.join("in.wav"), dir.join("out.wav"));
    write_wav(&in_wav, &input, RATE);
    let mut record = Command::new("pw-record");
    record.args([
        "--target",
        "null_sink",
        "--rate",
        "48000",
        "--channels",
        "2",
        "--format",
        "f32",
    ]);
    record.arg(&out_wav);
    env(&mut record);
    let recorder = spawn(&mut record, &dir.join("pw-record.log"));
    std::thread::sleep(Duration::from_millis(500));
    let mut play = Command::new("pw-play");
    play.args(["--target", "sourcery_input"]).arg(&in_wav);
    env(&mut play);
    let played = play.output().unwrap();
    assert!(
        played.status.success(),
        "pw-play: {}",
        String::from_utf8_lossy(&played.stderr)
    );
    std::thread::sleep(Duration::from_millis(500));
    signal_group(&recorder, libc::SIGINT);
    daemons.0.push(recorder);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !out_wav.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    drop(daemons);

    let (_, mut recorded) = read_wav(&out_wav);
    let recorded = recorded.swap_remove(0);
    let rendered =
        sourcery_dsp::render::render_blocks(&settings, &input, RATE as f32, 1024, &mut |_| {});
    let (input_db, _) = droop_db(&input[0]);
    let (pipewire_db, start) = droop_db(&recorded);
    let (render_db, _) = droop_db(&rendered[0]);
    println!(
        "20 kHz re 1 kHz: input {input_db:+.4} dB, through PipeWire {pipewire_db:+.4} dB \
         (signal from sample {start}), renderer {render_db:+.4} dB"
    );
    assert!(input_db.abs() < 0.01, "the test signal is flat: {input_db}");
    assert!(render_db < -2.0, "the NOS droop is there: {render_db}");
    assert!(
        (pipewire_db - render_db).abs() <= 0.2,
        "PipeWire {pipewire_db:+.3} dB vs renderer {render_db:+.3} dB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
