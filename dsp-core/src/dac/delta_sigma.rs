//! Delta-sigma DAC (AK4493 class), as the analog domain sees it: the chip's digital filter
//! is the OS filter before this stage; the modulator's shaped noise lies far above the audio
//! band and is removed by the analog low-pass and the decimator, so what remains in band is
//! a white noise floor and very low distortion (the voicing's shaper adds that).
//!
//! The noise is specified as its level in the audio band (20 Hz–20 kHz, unweighted, dBFS)
//! and generated white at the conversion rate, so its density is spread over the whole
//! conversion band: total RMS = in-band RMS · √(rate/2 / 20 kHz).

use crate::amp::noise::NoiseGen;

/// In-band bandwidth the noise level refers to, Hz.
pub const AUDIO_BANDWIDTH_HZ: f64 = 20_000.0 - 20.0;

#[derive(Debug, Clone)]
pub struct DeltaSigmaDac {
    /// RMS of the white noise added per sample.
    noise_rms: f64,
    noise: NoiseGen,
}

impl DeltaSigmaDac {
    /// `noise_dbfs`: in-band (20 Hz–20 kHz, unweighted) noise RMS in dBFS (AES17: a
    /// full-scale sine, RMS 1/√2, is 0 dBFS); `sample_rate`: the conversion rate.
    pub fn new(noise_dbfs: f64, sample_rate: f64, seed: u64) -> Self {
        let in_band_rms = std::f64::consts::FRAC_1_SQRT_2 * 10f64.powf(noise_dbfs / 20.0);
        let noise_rms = in_band_rms * (0.5 * sample_rate / AUDIO_BANDWIDTH_HZ).sqrt();
        Self {
            noise_rms,
            noise: NoiseGen::new(seed),
        }
    }

    pub fn reset(&mut self) {
        self.noise.reset();
    }

    /// Convert a block in place: add unit-variance white noise ([`NoiseGen`], eight SIMD
    /// lanes; the amp's generator) scaled to the stated level.
    pub fn process(&mut self, block: &mut [f32]) {
        let scale = self.noise_rms as f32;
        let mut noise = [0.0f32; 256];
        for chunk in block.chunks_mut(noise.len()) {
            let noise = &mut noise[..chunk.len()];
            self.noise.fill(noise);
            for (x, n) in chunk.iter_mut().zip(noise.iter()) {
                *x += scale * n;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{spectrum, Window};

    #[test]
    fn in_band_noise_is_at_the_stated_level() {
        let rate = 352_800.0;
        let mut dac = DeltaSigmaDac::new(-120.0, rate, 3);
        let mut x = vec![0.0f32; 352_800];
        dac.process(&mut x);
        let s = spectrum(&x, rate, Window::BlackmanHarris7);
        // power_in_band_db is re RMS 1.0; AES17 dBFS is re RMS 1/√2 (+3.01 dB).
        let in_band = s.power_in_band_db(20.0, 20_000.0) + 3.0103;
        assert!(
            (in_band + 120.0).abs() < 0.3,
            "in-band noise {in_band:.2} dBFS"
        );
    }
}
