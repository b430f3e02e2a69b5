//! VST3 host tests: the built `Sourcery.vst3` loaded by pedalboard (PyPI), headless.
//! Each test runs one check of `tests/vst3_host.py`.

use std::process::Command;

use sourcery_tests::{bundle, skip_unless, workspace_root};

fn have_pedalboard() -> bool {
    Command::new("python3")
        .args(["-c", "import pedalboard, numpy"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_check(check: &str) {
    if !skip_unless(
        have_pedalboard(),
        "python3 with pedalboard and numpy",
        "Install them with `pip install pedalboard numpy`.",
    ) {
        return;
    }
    let Some(vst3) = bundle("Sourcery.vst3") else {
        return;
    };
    let script = workspace_root().join("tests/vst3_host.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&vst3)
        .arg(check)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "VST3 check '{check}' failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
}

#[test]
fn vst3_parameters_are_listed_and_settable_by_label() {
    run_check("params");
}

#[test]
fn vst3_level_stereo_and_mono() {
    run_check("level");
}

#[test]
fn vst3_state_round_trip_gives_identical_output() {
    run_check("state");
}

#[test]
fn vst3_non_finite_input_never_poisons_output() {
    run_check("bad_input");
}

#[test]
fn vst3_your_chain_and_calibrated_spl() {
    run_check("your_chain");
}
