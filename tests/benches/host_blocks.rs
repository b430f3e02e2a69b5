//! Speed of the built plugins by host block size, as hosts run them: the CLAP through
//! clack-host and the VST3 through pedalboard (`tests/vst3_blocks.py`), default settings
//! (the K13 on the Andromeda), 44.1 kHz stereo noise, blocks of 1, 64, 512, 8192 and 16 384
//! frames and (CLAP) a varying sequence, 3 s per run, the sizes in turn, best of 5 rounds;
//! each as a realtime factor and against blocks of 512. The engine alone is in `cargo bench -p sourcery-dsp --bench dac_stage`. A host's
//! block size should not change the speed (within 15 %).
//!
//! Run (after `cargo xtask bundle sourcery --release`):
//! `cargo bench -p sourcery-tests --bench host_blocks`.

#[path = "../../dsp-core/benches/common/block_rows.rs"]
mod block_rows;
#[path = "../../dsp-core/benches/common/turns.rs"]
mod turns;

use std::process::Command;
use std::time::Instant;

use sourcery_dsp::analysis::xorshift_noise;
use sourcery_tests::clap_host::ClapInstance;
use sourcery_tests::{bundle, workspace_root, CLAP_ID};

const RATE: f64 = 44_100.0;
/// Frames per run (3 s: shorter runs were at the mercy of the VM).
const FRAMES: usize = 3 * 44_100;
/// Rounds: each block size runs once per round; the best run of each is kept.
const ROUNDS: usize = 5;

fn print_rows(host: &str, rows: &[(String, f64)]) {
    println!("{host}, K13 + Andromeda, 44.1 kHz stereo, by host block size:");
    block_rows::print_block_rows(rows);
}

fn main() {
    let Some(path) = bundle("Sourcery.clap") else {
        eprintln!("no bundles: run `cargo xtask bundle sourcery --release` first");
        return;
    };
    let input = vec![xorshift_noise(FRAMES, 1), xorshift_noise(FRAMES, 2)];
    let patterns: Vec<(String, Vec<usize>, u32)> = [1usize, 64, 512, 8192, 16_384]
        .iter()
        .map(|&b| (b.to_string(), vec![b], b as u32))
        .chain(std::iter::once((
            "varying 1…8192".to_owned(),
            vec![1, 7, 64, 333, 512, 2048, 8192, 100],
            8192,
        )))
        .collect();
    // The sizes take turns (`turns::best_in_turns`, the best of ROUNDS kept).
    let mut plugins: Vec<ClapInstance> = patterns
        .iter()
        .map(|(_, pattern, max_block)| {
            let mut plugin = ClapInstance::load(&path, CLAP_ID).expect("load");
            plugin.activate(RATE, *max_block, 2).expect("activate");
            plugin
                .process_signal(&input, pattern)
                .expect("process (warm-up)");
            plugin
        })
        .collect();
    let best = turns::best_in_turns(
        &mut plugins,
        ROUNDS,
        |i, plugin| {
            let t = Instant::now();
            plugin
                .process_signal(&input, &patterns[i].1)
                .expect("process");
            t.elapsed().as_secs_f64()
        },
        f64::min,
    );
    let rows: Vec<(String, f64)> = patterns
        .into_iter()
        .zip(best)
        .map(|((name, ..), best)| (name, FRAMES as f64 / RATE / best))
        .collect();
    print_rows("CLAP (clack-host)", &rows);

    let vst3 = sourcery_tests::bundle_dir().join("Sourcery.vst3");
    let out = Command::new("python3")
        .arg(workspace_root().join("tests/vst3_blocks.py"))
        .arg(&vst3)
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let rows: Vec<(String, f64)> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| {
                    let (block, rt) = l.split_once(' ')?;
                    Some((block.to_owned(), rt.parse().ok()?))
                })
                .collect();
            print_rows("VST3 (pedalboard)", &rows);
        }
        _ => eprintln!(
            "pedalboard (pip install pedalboard numpy) or the VST3 bundle is missing: no VST3 rows"
        ),
    }
}
