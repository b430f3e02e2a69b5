//! Start-up figures of the built plugins, as a host meets them: how long it takes to
//! instantiate an instance and to activate it (cold: the first instance in the process;
//! warm: the next), to change the sample rate, and the memory an idle activated instance
//! holds. CLAP through clack-host, VST3 through pedalboard (`tests/vst3_startup.py`).
//!
//! Every figure comes from a fresh process (this bench re-runs itself as a child, or runs
//! the Python script), so "cold" is what a DAW pays for the first instance of a project.
//! A benchmark, not a test: it prints, it does not judge; the targets are in the table.
//!
//! Run (after `cargo xtask bundle sourcery --release`):
//! `cargo bench -p sourcery-tests --bench startup`.

use std::process::Command;
use std::time::Instant;

use sourcery_tests::clap_host::ClapInstance;
use sourcery_tests::{bundle, workspace_root, CLAP_ID};

/// Set in the child that measures.
const CHILD_ENV: &str = "SOURCERY_STARTUP_CHILD";
/// Runs per figure (each a fresh process); the table shows the median.
const RUNS: usize = 5;
/// Idle instances for the memory figure.
const IDLE_INSTANCES: usize = 8;

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn ms(since: Instant) -> String {
    format!("{:.2}", since.elapsed().as_secs_f64() * 1e3)
}

/// The child: one cold start of the CLAP plugin, printed as `name value` lines.
fn child() {
    let path =
        bundle("Sourcery.clap").expect("the CLAP bundle (cargo xtask bundle sourcery --release)");
    let ok = |r: Result<(), String>| r.unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    let mut first = ClapInstance::load(&path, CLAP_ID).expect("load");
    println!("clap_instantiate_cold_ms {}", ms(t));
    let t = Instant::now();
    ok(first.activate(44_100.0, 512, 2));
    println!("clap_activate_44k1_cold_ms {}", ms(t));
    let t = Instant::now();
    ok(first.activate(44_100.0, 512, 2));
    println!("clap_activate_44k1_warm_ms {}", ms(t));
    let t = Instant::now();
    ok(first.activate(48_000.0, 512, 2));
    println!("clap_rate_change_48k_ms {}", ms(t));
    let t = Instant::now();
    ok(first.activate(48_000.0, 8192, 2));
    println!("clap_block_change_8192_ms {}", ms(t));
    let t = Instant::now();
    let mut second = ClapInstance::load(&path, CLAP_ID).expect("load");
    println!("clap_instantiate_warm_ms {}", ms(t));
    let t = Instant::now();
    ok(second.activate(44_100.0, 512, 2));
    println!("clap_activate_44k1_warm_instance_ms {}", ms(t));
    let silence = vec![vec![0.0f32; 512]; 2];
    let before = rss_mib();
    let mut idle = Vec::new();
    for _ in 0..IDLE_INSTANCES {
        let mut p = ClapInstance::load(&path, CLAP_ID).expect("load");
        ok(p.activate(44_100.0, 512, 2));
        p.process_signal(&silence, &[512]).expect("process");
        idle.push(p);
    }
    println!(
        "clap_idle_instance_mib {:.2}",
        (rss_mib() - before) / IDLE_INSTANCES as f64
    );
}

/// Run `command` RUNS times, collecting its `name value` lines.
fn collect(mut make: impl FnMut() -> Command) -> Vec<(String, Vec<f64>)> {
    let mut figures: Vec<(String, Vec<f64>)> = Vec::new();
    for _ in 0..RUNS {
        let output = make().output().expect("start the measuring process");
        if !output.status.success() {
            eprintln!(
                "a measuring process failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            return figures;
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let mut parts = line.split_whitespace();
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(value) = value.parse::<f64>() else {
                continue;
            };
            match figures.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value),
                None => figures.push((name.to_owned(), vec![value])),
            }
        }
    }
    figures
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The target of a figure, for the table.
fn target(name: &str) -> &'static str {
    match name {
        n if n.contains("load_and_activate_cold") => "≤ 35 ms (5 + 30)",
        n if n.contains("load_and_activate_warm") => "≤ 8 ms (5 + 3)",
        n if n.contains("instantiate") => "≤ 5 ms",
        n if n.contains("activate_44k1_cold") => "≤ 30 ms",
        n if n.contains("activate_44k1_warm") => "≤ 3 ms",
        n if n.contains("rate_change") => "≤ 30 ms",
        n if n.contains("idle_instance") => "≤ 4 MiB",
        _ => "",
    }
}

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
        return;
    }
    if bundle("Sourcery.clap").is_none() {
        eprintln!("no bundles: run `cargo xtask bundle sourcery --release` first");
        return;
    }
    let me = std::env::current_exe().expect("this bench's path");
    let mut figures = collect(|| {
        let mut c = Command::new(&me);
        c.env(CHILD_ENV, "1");
        c
    });
    let vst3 = sourcery_tests::bundle_dir().join("Sourcery.vst3");
    let script = workspace_root().join("tests/vst3_startup.py");
    let have_pedalboard = Command::new("python3")
        .args(["-c", "import pedalboard, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have_pedalboard && vst3.exists() {
        figures.extend(collect(|| {
            let mut c = Command::new("python3");
            c.arg(&script).arg(&vst3);
            c
        }));
    } else {
        eprintln!("pedalboard (pip install pedalboard numpy) or the VST3 bundle is missing: no VST3 figures");
    }
    println!("\nStart-up, median of {RUNS} fresh processes (ms; memory in MiB per instance):");
    println!(
        "  {:<38} {:>9} {:>9} {:>9}  target",
        "figure", "median", "min", "max"
    );
    for (name, values) in &figures {
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "  {name:<38} {:>9.2} {min:>9.2} {max:>9.2}  {}",
            median(values),
            target(name)
        );
    }
}
