//! Blind ABX: in each trial X is A or B at random; the listener says which. The score is
//! judged with the one-sided binomial test (guessing is right half the time).

/// One ABX session of `trials` trials.
#[derive(Debug, Clone)]
pub struct Abx {
    /// Hidden: whether X is B in each trial.
    x_is_b: Vec<bool>,
    /// The listener's answers so far ("X is B").
    answers: Vec<bool>,
}

/// SplitMix64: a small, well-mixed generator; enough to hide X from a listener.
fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Abx {
    /// A session of `trials` (at least 1), X drawn from `seed`.
    pub fn new(trials: usize, seed: u64) -> Self {
        let mut state = seed;
        Self {
            x_is_b: (0..trials.max(1))
                .map(|_| split_mix(&mut state) >> 63 == 1)
                .collect(),
            answers: Vec::new(),
        }
    }

    /// A session seeded from the clock.
    pub fn from_clock(trials: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5EED, |d| d.as_nanos() as u64);
        Self::new(trials, seed)
    }

    pub fn trials(&self) -> usize {
        self.x_is_b.len()
    }

    /// The trial being played (0-based), `None` when finished.
    pub fn current(&self) -> Option<usize> {
        (self.answers.len() < self.trials()).then_some(self.answers.len())
    }

    pub fn is_done(&self) -> bool {
        self.current().is_none()
    }

    /// Whether X is B in the current trial: for routing the audio only, never for display.
    pub fn x_is_b(&self) -> Option<bool> {
        self.current().map(|t| self.x_is_b[t])
    }

    /// Answer the current trial ("X is B" or "X is A"); ignored when finished.
    pub fn answer(&mut self, x_is_b: bool) {
        if !self.is_done() {
            self.answers.push(x_is_b);
        }
    }

    pub fn answered(&self) -> usize {
        self.answers.len()
    }

    /// Right answers so far.
    pub fn correct(&self) -> usize {
        self.answers
            .iter()
            .zip(&self.x_is_b)
            .filter(|(a, x)| a == x)
            .count()
    }

    /// P(at least `correct` right in `answered` trials by guessing).
    pub fn p_value(&self) -> f64 {
        p_value_at_least(self.correct(), self.answered())
    }

    /// Each answered trial: (X was B, answered B).
    pub fn history(&self) -> impl Iterator<Item = (bool, bool)> + '_ {
        self.x_is_b
            .iter()
            .copied()
            .zip(self.answers.iter().copied())
    }
}

/// One-sided binomial p-value: P(K ≥ k) for K ~ Binomial(n, ½). Exact: sums C(n, i)/2ⁿ in
/// f64 (n up to a few hundred).
pub fn p_value_at_least(k: usize, n: usize) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    // ln C(n, i) by a running product, to stay finite for large n.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let mut ln_c = 0.0f64; // ln C(n, 0)
    let mut total = 0.0;
    for i in 0..=n {
        if i > 0 {
            ln_c += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        if i >= k {
            total += (ln_c + ln_half_n).exp();
        }
    }
    total.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_p_values_match_exact_fractions() {
        // 12 of 16: (1820 + 560 + 120 + 16 + 1) / 65536.
        assert!((p_value_at_least(12, 16) - 2517.0 / 65536.0).abs() < 1e-12);
        assert!((p_value_at_least(16, 16) - 1.0 / 65536.0).abs() < 1e-15);
        assert_eq!(p_value_at_least(0, 16), 1.0);
        // 9 of 10: (10 + 1) / 1024.
        assert!((p_value_at_least(9, 10) - 11.0 / 1024.0).abs() < 1e-12);
        // Symmetry: P(K ≥ k) + P(K ≥ n − k + 1) = 1.
        for n in [1usize, 7, 20, 101] {
            for k in 0..=n {
                let s = p_value_at_least(k, n) + p_value_at_least(n - k + 1, n);
                assert!((s - 1.0).abs() < 1e-9, "n {n} k {k}: {s}");
            }
        }
    }

    #[test]
    fn x_is_drawn_evenly_and_answers_are_scored() {
        let abx = Abx::new(10_000, 7);
        let b = abx.x_is_b.iter().filter(|&&x| x).count();
        // 10 000 fair draws: 5000 ± 4σ (σ = 50).
        assert!((4800..=5200).contains(&b), "{b} of 10000 were B");

        let mut abx = Abx::new(4, 99);
        let truth: Vec<bool> = abx.x_is_b.clone();
        abx.answer(truth[0]);
        abx.answer(!truth[1]);
        abx.answer(truth[2]);
        assert_eq!(
            (abx.correct(), abx.answered(), abx.current()),
            (2, 3, Some(3))
        );
        abx.answer(truth[3]);
        assert!(abx.is_done());
        abx.answer(true); // ignored
        assert_eq!((abx.correct(), abx.answered()), (3, 4));
        assert!((abx.p_value() - 5.0 / 16.0).abs() < 1e-12);
    }
}
