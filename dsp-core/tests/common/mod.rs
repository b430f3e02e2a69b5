//! Helpers shared by the engine-level integration tests.

use sourcery_dsp::Engine;

/// The engine's impulse response: `len` samples after the latency, and everything before
/// it (the linear-phase filters ring before their peak; cutting that off would change the
/// magnitude response, while the delay itself does not).
pub fn impulse_response(e: &mut Engine, len: usize) -> Vec<f32> {
    e.reset();
    let mut x = vec![0.0f32; len + e.latency_samples()];
    x[0] = 1.0;
    e.process(&mut [&mut x[..]]);
    x
}
