//! Measuring several jobs on a shared machine: the jobs take turns (one run of each per
//! round), so a slow spell falls on every job alike rather than on whichever was running.
//! `dac_stage` and `sourcery-tests`' `host_blocks` (which includes this file by path) use it.

/// Run each job once per round for `rounds` rounds, in turn (`run` gets the job's index),
/// and keep for each job the better of its results by `keep(best so far, new)`.
pub fn best_in_turns<J, T>(
    jobs: &mut [J],
    rounds: usize,
    mut run: impl FnMut(usize, &mut J) -> T,
    keep: impl Fn(T, T) -> T,
) -> Vec<T> {
    let mut best: Vec<Option<T>> = jobs.iter().map(|_| None).collect();
    for _ in 0..rounds {
        for (i, (job, best)) in jobs.iter_mut().zip(&mut best).enumerate() {
            let got = run(i, job);
            *best = Some(match best.take() {
                Some(so_far) => keep(so_far, got),
                None => got,
            });
        }
    }
    best.into_iter()
        .map(|b| b.expect("at least one round"))
        .collect()
}
