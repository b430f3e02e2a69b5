//! The block-size table both speed benches print (`dac_stage`, the engine alone, and
//! `sourcery-tests`' `host_blocks`, the plugins in hosts, which includes this file by
//! path): each row's realtime factor and its change against blocks of 512, flagged when
//! outside the 15 % a host's block size may cost.

/// Print `rows` (block name, realtime factor), each against the row named "512".
pub fn print_block_rows(rows: &[(String, f64)]) {
    let at_512 = rows
        .iter()
        .find(|(name, _)| name == "512")
        .map_or(f64::NAN, |r| r.1);
    for (name, rt) in rows {
        let change = 100.0 * (rt / at_512 - 1.0);
        println!(
            "  block {name:<15} {rt:7.1}× ({change:+6.1} % against 512{})",
            if change.abs() <= 15.0 {
                ""
            } else {
                "  OUTSIDE 15 %"
            }
        );
    }
}
