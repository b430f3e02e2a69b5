//! Roots of real polynomials by the Aberth–Ehrlich iteration, in `f64`.
//!
//! References: O. Aberth, "Iteration methods for finding all zeros of a polynomial
//! simultaneously", Math. Comp. 27 (1973); D. A. Bini, "Numerical computation of polynomial
//! zeros by means of Aberth's method", Numerical Algorithms 13 (1996) — whose starting
//! points (circles whose radii come from the Newton polygon of the coefficients) let the
//! iteration converge quickly even when the roots span many decades, as the poles and zeros
//! of an impedance do (10 Hz … 1 MHz).
//!
//! Used at design time only (allocates).

use super::Complex64;

/// Most Aberth sweeps before giving up (convergence takes 10–30 for degree ≤ 16).
const MAX_SWEEPS: usize = 500;

/// All roots of `Σ c[k]·x^k` (ascending coefficients, real), with multiplicity.
///
/// Exact zero coefficients at the high end are dropped (they lower the degree); exact zeros
/// at the low end are returned as exact roots at 0. Degrees 1 and 2 are solved in closed
/// form (the quadratic in its cancellation-free form); higher degrees by Aberth–Ehrlich
/// followed by one Newton polishing step per root (kept only if it lowers |p|). For simple
/// roots the result is accurate to a few ulps relative to |root|; a root of multiplicity m
/// is found to about ε^(1/m) relative (≈1e-8 for a double root), as for any method working
/// on the coefficients.
pub(crate) fn roots(coefs: &[f64]) -> Vec<Complex64> {
    let mut hi = coefs.len();
    while hi > 0 && coefs[hi - 1] == 0.0 {
        hi -= 1;
    }
    let c = &coefs[..hi];
    let zeros_at_origin = c.iter().take_while(|&&v| v == 0.0).count();
    let c = &c[zeros_at_origin.min(c.len())..];
    let mut out = vec![Complex64::new(0.0, 0.0); zeros_at_origin];
    if c.len() <= 1 {
        return out;
    }
    let n = c.len() - 1;
    match n {
        1 => out.push(Complex64::new(-c[0] / c[1], 0.0)),
        2 => out.extend(quadratic(c[2], c[1], c[0])),
        _ => {
            let lead = c[n];
            let monic: Vec<f64> = c.iter().map(|v| v / lead).collect();
            out.extend(aberth(&monic));
        }
    }
    out
}

/// Roots of a·x² + b·x + c (a ≠ 0, c ≠ 0), without cancellation.
fn quadratic(a: f64, b: f64, c: f64) -> [Complex64; 2] {
    let disc = b * b - 4.0 * a * c;
    if disc >= 0.0 {
        // q = −(b + sign(b)·√disc)/2; roots q/a and c/q.
        let q = -0.5 * (b + b.signum() * disc.sqrt());
        let q = if q == 0.0 { -0.5 * disc.sqrt() } else { q };
        [Complex64::new(q / a, 0.0), Complex64::new(c / q, 0.0)]
    } else {
        let re = -b / (2.0 * a);
        let im = (-disc).sqrt() / (2.0 * a.abs());
        [Complex64::new(re, im), Complex64::new(re, -im)]
    }
}

/// `p(z)/p'(z)` for the monic polynomial `c` (ascending), evaluated in the direct form for
/// |z| ≤ 1 and through the reversed polynomial for |z| > 1 so that no power of a large |z|
/// is formed: with y = 1/z and q(y) = y^n·p(1/y), p/p' = z·q / (n·q − y·q').
/// Also returns ln|p(z)| for the polishing test.
fn newton_ratio(c: &[f64], z: Complex64) -> (Complex64, f64) {
    let n = c.len() - 1;
    let zero = Complex64::new(0.0, 0.0);
    if z.norm() <= 1.0 {
        let (mut p, mut dp) = (zero, zero);
        for &ck in c.iter().rev() {
            dp = dp * z + p;
            p = p * z + ck;
        }
        (safe_div(p, dp), p.norm().ln())
    } else {
        let y = z.inv();
        let (mut q, mut dq) = (zero, zero);
        for &ck in c.iter() {
            dq = dq * y + q;
            q = q * y + ck;
        }
        let ratio = safe_div(z * q, q * n as f64 - y * dq);
        (ratio, q.norm().ln() + n as f64 * z.norm().ln())
    }
}

/// `a/b`, or a tiny step instead of a division by zero (a critical point of p).
fn safe_div(a: Complex64, b: Complex64) -> Complex64 {
    if b.norm_sqr() == 0.0 {
        Complex64::new(1e-8, 1e-8) * (1.0 + a.norm())
    } else {
        a / b
    }
}

/// Bini's starting points: for each edge of the upper convex hull of the points
/// (k, ln|c_k|), k_i → k_j, place k_j − k_i points on the circle of radius
/// (|c_{k_i}|/|c_{k_j}|)^(1/(k_j − k_i)) — roughly where that many roots lie — at angles
/// spread around the circle and offset from the real axis (points on the real axis of a
/// real polynomial would stay there).
fn initial_points(c: &[f64]) -> Vec<Complex64> {
    let n = c.len() - 1;
    let pts: Vec<(usize, f64)> = c
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .map(|(k, v)| (k, v.abs().ln()))
        .collect();
    // Upper hull by the monotone chain (points already sorted by k).
    let mut hull: Vec<(usize, f64)> = Vec::with_capacity(pts.len());
    for &p in &pts {
        while hull.len() >= 2 {
            let a = hull[hull.len() - 2];
            let b = hull[hull.len() - 1];
            let cross =
                (b.0 as f64 - a.0 as f64) * (p.1 - a.1) - (b.1 - a.1) * (p.0 as f64 - a.0 as f64);
            if cross >= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(p);
    }
    let mut out = Vec::with_capacity(n);
    for (edge, w) in hull.windows(2).enumerate() {
        let (k0, l0) = w[0];
        let (k1, l1) = w[1];
        let count = k1 - k0;
        let radius = ((l0 - l1) / count as f64).exp();
        for i in 0..count {
            let angle = std::f64::consts::TAU * (i as f64 / count as f64)
                + std::f64::consts::TAU * edge as f64 / n as f64
                + 0.7;
            out.push(Complex64::from_polar(radius, angle));
        }
    }
    out
}

/// Aberth–Ehrlich iteration on the monic polynomial `c` (degree ≥ 3), Gauss–Seidel style
/// (each update uses the latest estimates), until every correction is below 4 ulps of its
/// root (or [`MAX_SWEEPS`]), then one polishing Newton step per root.
fn aberth(c: &[f64]) -> Vec<Complex64> {
    let mut z = initial_points(c);
    let n = z.len();
    let mut converged = vec![false; n];
    for _ in 0..MAX_SWEEPS {
        let mut all = true;
        for i in 0..n {
            if converged[i] {
                continue;
            }
            let (ratio, _) = newton_ratio(c, z[i]);
            let mut sum = Complex64::new(0.0, 0.0);
            for j in 0..n {
                if j != i {
                    let d = z[i] - z[j];
                    if d.norm_sqr() > 0.0 {
                        sum += d.inv();
                    }
                }
            }
            let step = safe_div(ratio, Complex64::new(1.0, 0.0) - ratio * sum);
            z[i] -= step;
            if step.norm() <= 4.0 * f64::EPSILON * z[i].norm() || !step.norm().is_finite() {
                converged[i] = true;
            } else {
                all = false;
            }
        }
        if all {
            break;
        }
    }
    for root in z.iter_mut() {
        let (ratio, ln_p) = newton_ratio(c, *root);
        let candidate = *root - ratio;
        if candidate.norm().is_finite() && newton_ratio(c, candidate).1 < ln_p {
            *root = candidate;
        }
    }
    z
}

/// Split roots of a real polynomial into real roots and one member (Im > 0) of each complex
/// conjugate pair. A root counts as real when |Im| ≤ tol·|root|, starting at tol = 1e-9 and
/// loosening ×10 (up to 1e-3) until the roots above and below the axis pair up one to one
/// (a double real root comes out as a pair with |Im| ≈ 1e-8·|root|). Each pair is
/// averaged with the conjugate of its partner, so the result is exactly conjugate-symmetric.
pub(crate) fn split_conjugates(roots: &[Complex64]) -> (Vec<f64>, Vec<Complex64>) {
    let mut tol = 1e-9;
    loop {
        let is_real = |r: &Complex64| r.im.abs() <= tol * r.norm();
        let upper: Vec<Complex64> = roots
            .iter()
            .filter(|r| !is_real(r) && r.im > 0.0)
            .copied()
            .collect();
        let mut lower: Vec<Complex64> = roots
            .iter()
            .filter(|r| !is_real(r) && r.im < 0.0)
            .copied()
            .collect();
        if upper.len() == lower.len() || tol >= 1e-3 {
            let real: Vec<f64> = roots.iter().filter(|r| is_real(r)).map(|r| r.re).collect();
            let mut pairs = Vec::with_capacity(upper.len());
            for u in upper {
                // Partner: the lower root nearest to conj(u).
                let best = lower
                    .iter()
                    .enumerate()
                    .min_by(|a, b| (a.1.conj() - u).norm().total_cmp(&(b.1.conj() - u).norm()))
                    .map(|(i, _)| i);
                match best {
                    Some(i) => {
                        let l = lower.swap_remove(i);
                        pairs.push((u + l.conj()) * 0.5);
                    }
                    None => pairs.push(u),
                }
            }
            return (real, pairs);
        }
        tol *= 10.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::network::{poly_eval, poly_mul};

    /// Polynomial with the given real roots and complex pairs (ascending coefficients).
    fn from_roots(real: &[f64], pairs: &[Complex64]) -> Vec<f64> {
        let mut p = vec![1.0];
        for &r in real {
            p = poly_mul(&p, &[-r, 1.0]);
        }
        for &q in pairs {
            p = poly_mul(&p, &[q.norm_sqr(), -2.0 * q.re, 1.0]);
        }
        p
    }

    /// Every expected root matched by a found one within `tol` relative.
    fn check(found: &[Complex64], real: &[f64], pairs: &[Complex64], tol: f64) -> f64 {
        let mut expected: Vec<Complex64> = real.iter().map(|&r| Complex64::new(r, 0.0)).collect();
        for &q in pairs {
            expected.push(q);
            expected.push(q.conj());
        }
        assert_eq!(found.len(), expected.len());
        let mut left = found.to_vec();
        let mut worst = 0.0f64;
        for e in expected {
            let (i, err) = left
                .iter()
                .enumerate()
                .map(|(i, f)| (i, (f - e).norm() / e.norm().max(1e-300)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap();
            worst = worst.max(err);
            left.swap_remove(i);
        }
        assert!(worst < tol, "worst relative root error {worst:e}");
        worst
    }

    #[test]
    fn widely_spread_roots_of_degree_16() {
        // Eight real roots from 0.01 to 1000 (s' units: 10 Hz … 1 MHz) and four pairs.
        let real: Vec<f64> = (0..8)
            .map(|k| -(10f64).powf(-2.0 + 5.0 * k as f64 / 7.0))
            .collect();
        let pairs = [
            Complex64::new(-0.02, 0.09),
            Complex64::new(-0.5, 3.0),
            Complex64::new(-4.0, 20.0),
            Complex64::new(-100.0, 300.0),
        ];
        let p = from_roots(&real, &pairs);
        assert_eq!(p.len(), 17);
        let found = roots(&p);
        let worst = check(&found, &real, &pairs, 1e-10);
        println!("degree 16, roots 0.01…1000: worst relative error {worst:e}");
        let (r, c) = split_conjugates(&found);
        assert_eq!((r.len(), c.len()), (8, 4));
        // Residuals.
        for z in found {
            let scale: f64 = p
                .iter()
                .enumerate()
                .map(|(k, c)| c.abs() * z.norm().powi(k as i32))
                .sum();
            assert!(poly_eval(&p, z).norm() <= 1e-12 * scale);
        }
    }

    #[test]
    fn zeros_at_origin_low_degrees_and_double_roots() {
        // 3·s²·(s + 2): two exact zeros, one real root.
        let found = roots(&[0.0, 0.0, 6.0, 3.0, 0.0]);
        assert_eq!(found.len(), 3);
        assert_eq!(found.iter().filter(|r| r.norm() == 0.0).count(), 2);
        assert!(found
            .iter()
            .any(|r| (r - Complex64::new(-2.0, 0.0)).norm() < 1e-15));
        // Quadratics: real pair with cancellation risk, and complex pair.
        check(&roots(&[1.0, 1e8, 1.0]), &[-1e-8, -1e8], &[], 1e-14);
        check(
            &roots(&from_roots(&[], &[Complex64::new(-1.0, 5.0)])),
            &[],
            &[Complex64::new(-1.0, 5.0)],
            1e-14,
        );
        // A double root (identical parallel branches give these): ~1e-8 relative.
        let real = [-3.0, -3.0, -0.1, -50.0];
        let found = roots(&from_roots(&real, &[]));
        check(&found, &real, &[], 1e-6);
        let (r, c) = split_conjugates(&found);
        assert_eq!((r.len(), c.len()), (4, 0));
        // Constant: no roots.
        assert!(roots(&[5.0]).is_empty());
        assert!(roots(&[]).is_empty());
    }
}
