//! Measured impedance curves: REW `.zma` and CSV files, interpolation, and the minimum
//! phase of a curve measured without phase.
//!
//! # Files
//! - `.zma` (REW's impedance export; also `.txt`): one point per line, whitespace-separated
//!   `Hz Ω degrees` (or just `Hz Ω`). Lines starting with `*`, `#`, `;` or `//` are
//!   comments; blank lines are skipped; CRLF line ends and a UTF-8 byte-order mark are
//!   accepted.
//! - `.csv`: the same columns separated by commas, semicolons or tabs (the separator is
//!   taken from the first non-comment line: `;` if it has one, else a tab, else `,`; with
//!   `;` or tab separators a decimal comma is accepted, `20,5;8,1`).
//! - Either format may start with one non-numeric header line (`Freq(Hz),Z(ohm),Phase`).
//!   The first data line fixes the column count (2 or 3); every later line must match.
//!
//! Rejected, with the file name and 1-based line in the message (`"{file}:{line}: …"`;
//! whole-file problems have no line): frequencies not strictly increasing, ≤ 0 or not
//! finite; |Z| ≤ 0 or not finite; phase outside −90…90° or not finite (a passive one-port
//! cannot exceed ±90°); a wrong or inconsistent column count; non-numeric junk; control
//! characters (binary data); fewer than [`MIN_POINTS`] or more than [`MAX_POINTS`] points;
//! files over [`MAX_FILE_BYTES`] or not valid UTF-8.
//!
//! # Interpolation
//! [`ImpedanceCurve::impedance`] interpolates `ln|Z|` and the phase as functions of
//! `ln f` with a piecewise-cubic Hermite curve through the points (slopes from the parabola
//! through each point and its neighbours), and holds the end values outside the data. Cubic
//! rather than linear because the divider must be exact to 0.02 dB: on
//! [`MULTI_BA`](super::examples::MULTI_BA) sampled at 1/48 octave, straight lines in
//! log-log across the 2.5 kHz dip put the 75 Ω divider 0.04 dB off; the cubic, 0.005 dB.
//!
//! # Phase from magnitude
//! When a file has no phase column, the phase is derived as the **minimum phase** of |Z|:
//! the impedance of a passive one-port is a positive-real function, which has no zeros or
//! poles in the right half plane, so its phase follows from its magnitude (Bode's
//! gain–phase relation; H. W. Bode, *Network Analysis and Feedback Amplifier Design*,
//! 1945, ch. 14):
//!
//! `φ(ω₀) = (1/π) ∫ (d ln|Z| / du) · ln coth(|u|/2) du`, `u = ln(ω/ω₀)`.
//!
//! It is evaluated on a uniform grid in `u` (1/96 octave) with `ln|Z|` piecewise linear
//! between grid points, so each cell's kernel integral is exact
//! (see `kernel_integral`). Beyond the data (10 octaves each way, where the kernel has
//! decayed to < 1e-3 rad per unit slope) |Z| is continued as a first-order system with the
//! slope of the last 1/12 octave: at the top an inductive rise (a voice coil's
//! `Re + jωLe`) keeps rising towards +6 dB/octave, a capacitive fall keeps falling; at the
//! bottom a rise towards DC (a series capacitor) continues, but a fall towards DC is held
//! flat (every headphone has a DC path through its voice coil, so |Z| settles at its DC
//! resistance). Measured on the three example networks sampled at 1/48 octave from 10 Hz
//! to 40 kHz without phase: phase within 0.23° over 20 Hz–20 kHz, the divider deviation
//! within 0.008 dB for Z_out from 0.5 to 75 Ω.

use std::fmt;
use std::io::Read;
use std::path::Path;

use super::{Complex64, Network};

/// Largest file [`ImpedanceCurve::parse_file`] reads: 4 MiB (a 200 000-point curve with
/// three columns is about 6 MB only with absurd precision; REW exports are ~100 kB).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// Most points in a curve.
pub const MAX_POINTS: usize = 200_000;
/// Fewest points in a curve read from a file.
pub const MIN_POINTS: usize = 3;

/// One measured point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// Frequency, Hz (> 0).
    pub freq_hz: f64,
    /// Impedance magnitude |Z|, ohms (> 0).
    pub ohms: f64,
    /// Phase of Z in degrees (−90…90; positive = inductive), if measured.
    pub phase_deg: Option<f64>,
}

/// What is wrong with an impedance file (see [`LoadFileError`] for where).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadErrorKind {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(String),
    /// Larger than [`MAX_FILE_BYTES`].
    #[error("file too large: {bytes} bytes (at most 4 MiB)")]
    TooLarge {
        /// Size of the file in bytes (at least).
        bytes: u64,
    },
    /// Not valid UTF-8 (the line is where the first invalid byte is).
    #[error("not a text file (invalid UTF-8)")]
    NotUtf8,
    /// A control character: binary data.
    #[error("binary data (control character U+{code:04X})")]
    Binary {
        /// The character's code point.
        code: u32,
    },
    /// An extension other than `.zma`, `.txt` or `.csv`.
    #[error("unknown file type {0:?} (expected .zma, .txt or .csv)")]
    UnknownExtension(String),
    /// No data lines at all.
    #[error("empty: no data points")]
    Empty,
    /// Fewer than [`MIN_POINTS`] points.
    #[error("only {count} data points (at least {MIN_POINTS} are needed)")]
    TooFewPoints {
        /// Points found.
        count: usize,
    },
    /// More than [`MAX_POINTS`] points.
    #[error("more than {MAX_POINTS} data points")]
    TooManyPoints,
    /// The first data line has neither 2 nor 3 columns.
    #[error("expected 2 or 3 columns (Hz, ohms[, degrees]), found {found}")]
    BadColumnCount {
        /// Columns found.
        found: usize,
    },
    /// A data line's column count differs from the first data line's.
    #[error("found {found} columns, but the first data line (line {first_line}) has {expected}")]
    InconsistentColumns {
        /// Columns of the first data line.
        expected: usize,
        /// Columns on this line.
        found: usize,
        /// Line number of the first data line.
        first_line: usize,
    },
    /// A field that is not a number.
    #[error("column {column}: {text:?} is not a number")]
    NotANumber {
        /// 1-based column.
        column: usize,
        /// The field.
        text: String,
    },
    /// Frequency ≤ 0 or not finite.
    #[error("frequency {value} Hz is not a positive finite number")]
    BadFrequency {
        /// The value read.
        value: f64,
    },
    /// Frequency not above the previous point's.
    #[error("frequency {value} Hz does not increase (previous point: {previous} Hz)")]
    NotIncreasing {
        /// The value read.
        value: f64,
        /// The previous point's frequency.
        previous: f64,
    },
    /// |Z| ≤ 0 or not finite.
    #[error("impedance {value} ohms is not a positive finite number")]
    BadOhms {
        /// The value read.
        value: f64,
    },
    /// Phase outside −90…90° or not finite.
    #[error("phase {value}° is outside -90…90° (impossible for a passive load)")]
    BadPhase {
        /// The value read.
        value: f64,
    },
    /// Some points have a phase and others not ([`ImpedanceCurve::from_points`]).
    #[error("some points have a phase and others not")]
    MixedPhase,
}

/// An impedance file problem, displayed as `"{file}:{line}: {message}"` (or
/// `"{file}: {message}"` for whole-file problems, `line` = 0).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {kind}", line_suffix(.line))]
pub struct LoadFileError {
    /// The file name as given.
    pub file: String,
    /// 1-based line, or 0 for the whole file.
    pub line: usize,
    /// What is wrong.
    pub kind: LoadErrorKind,
}

fn line_suffix(line: &usize) -> String {
    if *line == 0 {
        String::new()
    } else {
        format!(":{line}")
    }
}

/// A measured (or sampled) impedance curve: points at strictly increasing frequencies, with
/// a phase per point (measured, or derived as the minimum phase of |Z|).
#[derive(Debug, Clone, PartialEq)]
pub struct ImpedanceCurve {
    points: Vec<CurvePoint>,
    /// `ln f` of each point.
    log_freq: Vec<f64>,
    /// `ln|Z|` of each point.
    ln_ohms: Vec<f64>,
    /// Phase of each point, radians (measured or derived).
    phase_rad: Vec<f64>,
    /// Hermite slopes `d ln|Z| / d ln f` and `dφ / d ln f` at each point.
    slope_ln_ohms: Vec<f64>,
    slope_phase: Vec<f64>,
    /// Whether `phase_rad` was derived from |Z|.
    phase_derived: bool,
}

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zma,
    Csv,
}

impl ImpedanceCurve {
    /// Parse REW `.zma` text (see the [module docs](self)). `file` names the source in
    /// errors.
    ///
    /// # Errors
    /// [`LoadFileError`] naming `file` and the line.
    pub fn parse_zma(text: &str, file: &str) -> Result<ImpedanceCurve, LoadFileError> {
        parse_text(text, file, Format::Zma)
    }

    /// Parse CSV text (comma, semicolon or tab separated; see the [module docs](self)).
    ///
    /// # Errors
    /// [`LoadFileError`] naming `file` and the line.
    pub fn parse_csv(text: &str, file: &str) -> Result<ImpedanceCurve, LoadFileError> {
        parse_text(text, file, Format::Csv)
    }

    /// Read and parse a file, choosing the format by extension (`.zma`/`.txt` → ZMA,
    /// `.csv` → CSV, case-insensitive). Reads at most [`MAX_FILE_BYTES`]. Does I/O: never
    /// on the audio thread.
    ///
    /// # Errors
    /// [`LoadFileError`] naming the path (and the line for content errors).
    pub fn parse_file(path: &Path) -> Result<ImpedanceCurve, LoadFileError> {
        let file = path.display().to_string();
        let whole = |kind| LoadFileError {
            file: file.clone(),
            line: 0,
            kind,
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let format = match ext.as_str() {
            "zma" | "txt" => Format::Zma,
            "csv" => Format::Csv,
            _ => return Err(whole(LoadErrorKind::UnknownExtension(ext))),
        };
        let handle =
            std::fs::File::open(path).map_err(|e| whole(LoadErrorKind::Io(e.to_string())))?;
        if let Ok(meta) = handle.metadata() {
            if meta.len() > MAX_FILE_BYTES {
                return Err(whole(LoadErrorKind::TooLarge { bytes: meta.len() }));
            }
        }
        let mut bytes = Vec::new();
        handle
            .take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| whole(LoadErrorKind::Io(e.to_string())))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(whole(LoadErrorKind::TooLarge {
                bytes: bytes.len() as u64,
            }));
        }
        let text = std::str::from_utf8(&bytes).map_err(|e| LoadFileError {
            file: file.clone(),
            line: 1 + bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            kind: LoadErrorKind::NotUtf8,
        })?;
        parse_text(text, &file, format)
    }

    /// A curve from points (validated like a file: `"<points>"` and the 1-based point
    /// index in errors). Points without phase get the minimum phase of |Z|.
    ///
    /// # Errors
    /// [`LoadFileError`] for invalid, non-increasing, too few (< 3) or too many points, or
    /// a mix of points with and without phase.
    pub fn from_points(points: Vec<CurvePoint>) -> Result<ImpedanceCurve, LoadFileError> {
        let err = |line, kind| LoadFileError {
            file: "<points>".to_string(),
            line,
            kind,
        };
        let with_phase = points.first().is_some_and(|p| p.phase_deg.is_some());
        for (i, p) in points.iter().enumerate() {
            if p.phase_deg.is_some() != with_phase {
                return Err(err(i + 1, LoadErrorKind::MixedPhase));
            }
            let previous = i.checked_sub(1).map(|j| points[j].freq_hz);
            validate_point(p, previous).map_err(|kind| err(i + 1, kind))?;
        }
        check_count(points.len()).map_err(|kind| err(0, kind))?;
        Ok(Self::build(points))
    }

    /// Sample `network` at `freqs` (Hz), with phase — for tests and the editor.
    /// Non-finite and non-positive frequencies are dropped and the rest sorted and
    /// de-duplicated; if fewer than 2 remain, the curve is sampled at 1/48 octave from
    /// 10 Hz to 40 kHz instead.
    pub fn from_network(network: &Network, freqs: &[f64]) -> ImpedanceCurve {
        let mut f: Vec<f64> = freqs
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        f.sort_by(f64::total_cmp);
        f.dedup();
        if f.len() < 2 {
            f = crate::analysis::log_frequencies(10.0, 40_000.0, 48.0);
        }
        let points = f
            .iter()
            .map(|&freq_hz| {
                let z = network.impedance(freq_hz);
                CurvePoint {
                    freq_hz,
                    ohms: z.norm().max(f64::MIN_POSITIVE),
                    phase_deg: Some(z.arg().to_degrees().clamp(-90.0, 90.0)),
                }
            })
            .collect();
        Self::build(points)
    }

    /// The same magnitudes with the phase dropped and re-derived as the minimum phase of
    /// |Z| (what a file without a phase column gives).
    pub fn without_phase(&self) -> ImpedanceCurve {
        Self::build(
            self.points
                .iter()
                .map(|p| CurvePoint {
                    phase_deg: None,
                    ..*p
                })
                .collect(),
        )
    }

    /// The points as given (a derived phase is not stored here; see
    /// [`Self::phase_deg_at`]).
    pub fn points(&self) -> &[CurvePoint] {
        &self.points
    }

    /// Whether the phase was derived from |Z| (no phase column) rather than measured.
    pub fn phase_is_derived(&self) -> bool {
        self.phase_derived
    }

    /// The phase (degrees) used at point `index`: measured, or derived.
    pub fn phase_deg_at(&self, index: usize) -> Option<f64> {
        self.phase_rad.get(index).map(|p| p.to_degrees())
    }

    /// Lowest and highest frequency of the data, Hz.
    pub fn freq_range_hz(&self) -> (f64, f64) {
        (
            self.points.first().map_or(0.0, |p| p.freq_hz),
            self.points.last().map_or(0.0, |p| p.freq_hz),
        )
    }

    /// Interpolated complex impedance (ohms) at `freq_hz`: `ln|Z|` and phase
    /// piecewise-cubic in `ln f` through the points (see the [module docs](self)), held
    /// constant below the first and above the last point (and for non-finite or
    /// non-positive `freq_hz`, the first point).
    pub fn impedance(&self, freq_hz: f64) -> Complex64 {
        let u = if freq_hz.is_finite() && freq_hz > 0.0 {
            freq_hz.ln()
        } else if freq_hz == f64::INFINITY {
            f64::MAX
        } else {
            f64::MIN
        };
        let ln_ohms = hermite(&self.log_freq, &self.ln_ohms, &self.slope_ln_ohms, u);
        let phase = hermite(&self.log_freq, &self.phase_rad, &self.slope_phase, u)
            .clamp(-std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_2);
        Complex64::from_polar(ln_ohms.exp(), phase)
    }

    /// The curve as REW `.zma` text: two comment lines, then `Hz ohms degrees` per point
    /// (the phase column always written: measured, or derived — a re-import then treats it
    /// as measured). Numbers are printed in Rust's shortest round-trip form, so parsing the
    /// text back gives the same points.
    pub fn to_zma(&self) -> String {
        let mut out = String::with_capacity(32 * (self.points.len() + 2));
        out.push_str("* Impedance curve exported by Sourcery\n");
        out.push_str(if self.phase_derived {
            "* Frequency (Hz), |Z| (ohms), minimum phase derived from |Z| (degrees)\n"
        } else {
            "* Frequency (Hz), |Z| (ohms), phase (degrees)\n"
        });
        for (p, phase) in self.points.iter().zip(&self.phase_rad) {
            let deg = if self.phase_derived {
                phase.to_degrees().clamp(-90.0, 90.0)
            } else {
                p.phase_deg.unwrap_or(0.0)
            };
            out.push_str(&format!("{} {} {}\n", p.freq_hz, p.ohms, deg));
        }
        out
    }

    /// Build from validated points (≥ 1, strictly increasing, positive).
    fn build(points: Vec<CurvePoint>) -> Self {
        let log_freq: Vec<f64> = points.iter().map(|p| p.freq_hz.ln()).collect();
        let ln_ohms: Vec<f64> = points.iter().map(|p| p.ohms.ln()).collect();
        let slope_ln_ohms = hermite_slopes(&log_freq, &ln_ohms);
        let measured = points.iter().all(|p| p.phase_deg.is_some());
        let phase_rad = if measured {
            points
                .iter()
                .map(|p| p.phase_deg.unwrap_or(0.0).to_radians())
                .collect()
        } else {
            minimum_phase(&log_freq, &ln_ohms, &slope_ln_ohms)
        };
        let slope_phase = hermite_slopes(&log_freq, &phase_rad);
        Self {
            points,
            log_freq,
            ln_ohms,
            phase_rad,
            slope_ln_ohms,
            slope_phase,
            phase_derived: !measured,
        }
    }
}

/// Free-function form of [`ImpedanceCurve::parse_zma`].
///
/// # Errors
/// See [`ImpedanceCurve::parse_zma`].
pub fn parse_zma(text: &str, file: &str) -> Result<ImpedanceCurve, LoadFileError> {
    ImpedanceCurve::parse_zma(text, file)
}

/// Free-function form of [`ImpedanceCurve::parse_csv`].
///
/// # Errors
/// See [`ImpedanceCurve::parse_csv`].
pub fn parse_csv(text: &str, file: &str) -> Result<ImpedanceCurve, LoadFileError> {
    ImpedanceCurve::parse_csv(text, file)
}

/// Free-function form of [`ImpedanceCurve::parse_file`].
///
/// # Errors
/// See [`ImpedanceCurve::parse_file`].
pub fn parse_file(path: &Path) -> Result<ImpedanceCurve, LoadFileError> {
    ImpedanceCurve::parse_file(path)
}

impl fmt::Display for ImpedanceCurve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (lo, hi) = self.freq_range_hz();
        write!(
            f,
            "{} points, {lo} Hz to {hi} Hz, phase {}",
            self.points.len(),
            if self.phase_derived {
                "derived"
            } else {
                "measured"
            }
        )
    }
}

fn check_count(count: usize) -> Result<(), LoadErrorKind> {
    match count {
        0 => Err(LoadErrorKind::Empty),
        c if c < MIN_POINTS => Err(LoadErrorKind::TooFewPoints { count: c }),
        c if c > MAX_POINTS => Err(LoadErrorKind::TooManyPoints),
        _ => Ok(()),
    }
}

fn validate_point(p: &CurvePoint, previous: Option<f64>) -> Result<(), LoadErrorKind> {
    if !(p.freq_hz.is_finite() && p.freq_hz > 0.0) {
        return Err(LoadErrorKind::BadFrequency { value: p.freq_hz });
    }
    if let Some(previous) = previous {
        if p.freq_hz <= previous {
            return Err(LoadErrorKind::NotIncreasing {
                value: p.freq_hz,
                previous,
            });
        }
    }
    if !(p.ohms.is_finite() && p.ohms > 0.0) {
        return Err(LoadErrorKind::BadOhms { value: p.ohms });
    }
    if let Some(phase) = p.phase_deg {
        if !(phase.is_finite() && (-90.0..=90.0).contains(&phase)) {
            return Err(LoadErrorKind::BadPhase { value: phase });
        }
    }
    Ok(())
}

fn is_comment(line: &str) -> bool {
    line.starts_with('*')
        || line.starts_with('#')
        || line.starts_with(';')
        || line.starts_with("//")
}

/// The parser shared by both formats.
fn parse_text(text: &str, file: &str, format: Format) -> Result<ImpedanceCurve, LoadFileError> {
    let err = |line, kind| LoadFileError {
        file: file.to_string(),
        line,
        kind,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut points: Vec<CurvePoint> = Vec::new();
    let mut separator: Option<char> = None;
    // (columns, line) of the first data line.
    let mut first: Option<(usize, usize)> = None;
    let mut seen_content = false;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(c) = line.chars().find(|c| c.is_control() && *c != '\t') {
            return Err(err(line_no, LoadErrorKind::Binary { code: c as u32 }));
        }
        let line = line.trim();
        if line.is_empty() || is_comment(line) {
            continue;
        }
        let sep = *separator.get_or_insert(match format {
            Format::Zma => ' ',
            Format::Csv if line.contains(';') => ';',
            Format::Csv if line.contains('\t') => '\t',
            Format::Csv => ',',
        });
        let fields: Vec<String> = match format {
            Format::Zma => line.split_whitespace().map(str::to_string).collect(),
            Format::Csv => line
                .split(sep)
                .map(|f| {
                    let f = f.trim();
                    if sep == ',' {
                        f.to_string()
                    } else {
                        f.replace(',', ".")
                    }
                })
                .collect(),
        };
        let numbers: Vec<Option<f64>> = fields.iter().map(|f| f.parse::<f64>().ok()).collect();
        // One header line is allowed before any data: a first line whose first field is not
        // a number.
        if !seen_content && numbers.first().is_some_and(Option::is_none) {
            seen_content = true;
            continue;
        }
        seen_content = true;
        let (columns, first_line) = *first.get_or_insert((fields.len(), line_no));
        if !(2..=3).contains(&columns) {
            return Err(err(
                line_no,
                LoadErrorKind::BadColumnCount { found: columns },
            ));
        }
        if fields.len() != columns {
            return Err(err(
                line_no,
                LoadErrorKind::InconsistentColumns {
                    expected: columns,
                    found: fields.len(),
                    first_line,
                },
            ));
        }
        let mut values = [0.0; 3];
        for (i, (n, f)) in numbers.iter().zip(&fields).enumerate() {
            values[i] = n.ok_or_else(|| {
                err(
                    line_no,
                    LoadErrorKind::NotANumber {
                        column: i + 1,
                        text: f.chars().take(40).collect(),
                    },
                )
            })?;
        }
        let point = CurvePoint {
            freq_hz: values[0],
            ohms: values[1],
            phase_deg: (columns == 3).then_some(values[2]),
        };
        validate_point(&point, points.last().map(|p| p.freq_hz))
            .map_err(|kind| err(line_no, kind))?;
        if points.len() == MAX_POINTS {
            return Err(err(line_no, LoadErrorKind::TooManyPoints));
        }
        points.push(point);
    }
    check_count(points.len()).map_err(|kind| err(0, kind))?;
    Ok(ImpedanceCurve::build(points))
}

/// Slopes for a C¹ piecewise-cubic Hermite interpolant through (x, y): at interior points
/// the derivative of the parabola through the point and its two neighbours (the
/// spacing-weighted mean of the two secants), at the ends the end parabola's derivative.
/// Exact for quadratics; for smooth data the interpolation error is O(h³).
fn hermite_slopes(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let h: Vec<f64> = x.windows(2).map(|w| w[1] - w[0]).collect();
    let secant: Vec<f64> = (0..n - 1).map(|i| (y[i + 1] - y[i]) / h[i]).collect();
    if n == 2 {
        return vec![secant[0]; 2];
    }
    let mut d = vec![0.0; n];
    for i in 1..n - 1 {
        d[i] = (h[i] * secant[i - 1] + h[i - 1] * secant[i]) / (h[i - 1] + h[i]);
    }
    d[0] = ((2.0 * h[0] + h[1]) * secant[0] - h[0] * secant[1]) / (h[0] + h[1]);
    let (a, b) = (h[n - 2], h[n - 3]);
    d[n - 1] = ((2.0 * a + b) * secant[n - 2] - a * secant[n - 3]) / (a + b);
    d
}

/// The Hermite interpolant at `u`, held constant outside `[x₀, x_last]`.
fn hermite(x: &[f64], y: &[f64], d: &[f64], u: f64) -> f64 {
    let n = x.len();
    if n == 0 {
        return 0.0;
    }
    if n == 1 || u <= x[0] {
        return y[0];
    }
    if u >= x[n - 1] {
        return y[n - 1];
    }
    let i = x.partition_point(|&v| v <= u).clamp(1, n - 1) - 1;
    let h = x[i + 1] - x[i];
    let t = (u - x[i]) / h;
    let (t2, t3) = (t * t, t * t * t);
    (2.0 * t3 - 3.0 * t2 + 1.0) * y[i]
        + (t3 - 2.0 * t2 + t) * h * d[i]
        + (-2.0 * t3 + 3.0 * t2) * y[i + 1]
        + (t3 - t2) * h * d[i + 1]
}

/// `G(x) = ∫₀ˣ ln coth(u/2) du` for x ≥ 0 (G(∞) = π²/4).
///
/// For x ≥ 1/4: `ln coth(u/2) = 2·artanh(e^{−u}) = 2·Σ_{odd k} e^{−ku}/k`, so
/// `G(x) = π²/4 − 2·Σ_{odd k} e^{−kx}/k²` (terms below 1e-18 dropped; ≤ 90 terms). For
/// x < 1/4 the log singularity is integrated exactly, `∫₀ˣ −ln(u/2) du = x·(1 − ln(x/2))`,
/// and the smooth rest `ln((u/2)·coth(u/2)) = u²/12 − 7u⁴/1440 + …` by Simpson's rule on
/// 128 intervals (error `x·h⁴·(7·24/1440)/180` with `h = x/128`: < 1e-15).
fn kernel_integral(x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 0.25 {
        let mut sum = 0.0;
        let mut k = 1.0;
        loop {
            let term = (-k * x).exp() / (k * k);
            sum += term;
            if term < 1e-18 {
                break;
            }
            k += 2.0;
        }
        return std::f64::consts::PI.powi(2) / 4.0 - 2.0 * sum;
    }
    let smooth = |u: f64| {
        if u == 0.0 {
            0.0
        } else {
            let half = 0.5 * u;
            (half / half.tanh()).ln()
        }
    };
    const INTERVALS: usize = 128;
    let step = x / INTERVALS as f64;
    let mut simpson = smooth(0.0) + smooth(x);
    for i in 1..INTERVALS {
        simpson += if i % 2 == 1 { 4.0 } else { 2.0 } * smooth(i as f64 * step);
    }
    x * (1.0 - (0.5 * x).ln()) + simpson * step / 3.0
}

/// Octaves the magnitude is continued beyond each end of the data for the phase integral.
const EXTENSION_OCTAVES: f64 = 10.0;
/// Grid density of the phase integral, points per octave (lowered for very wide data so
/// the grid stays ≤ [`MAX_PHASE_GRID`] points).
const PHASE_GRID_PER_OCTAVE: f64 = 96.0;
/// Largest phase-integral grid (its cost is quadratic: 8192² multiply-adds).
const MAX_PHASE_GRID: usize = 8192;

/// Least-squares slope of y over x for the points with x within `span` of the end at
/// `from_end` (at least 3 points, or all there are).
fn end_slope(x: &[f64], y: &[f64], at_top: bool, span: f64) -> f64 {
    let n = x.len();
    if n < 2 {
        return 0.0;
    }
    let idx: Vec<usize> = if at_top {
        let edge = x[n - 1] - span;
        let mut v: Vec<usize> = (0..n).rev().take_while(|&i| x[i] >= edge).collect();
        if v.len() < 3 {
            v = (n.saturating_sub(3)..n).collect();
        }
        v
    } else {
        let edge = x[0] + span;
        let mut v: Vec<usize> = (0..n).take_while(|&i| x[i] <= edge).collect();
        if v.len() < 3 {
            v = (0..n.min(3)).collect();
        }
        v
    };
    let m = idx.len() as f64;
    let mx = idx.iter().map(|&i| x[i]).sum::<f64>() / m;
    let my = idx.iter().map(|&i| y[i]).sum::<f64>() / m;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for &i in &idx {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
    }
    if sxx > 0.0 {
        sxy / sxx
    } else {
        0.0
    }
}

/// Change of `ln|Z|` a distance `d ≥ 0` (in ln f) beyond an end where the slope is
/// `slope`, for a first-order continuation: `sign·½·ln((1 + x²e^{2d})/(1 + x²))` with
/// `x² = |s|/(1 − |s|)`, whose slope is `s` at d = 0 and tends to ±1 (±6 dB/octave).
fn first_order_continuation(d: f64, slope: f64) -> f64 {
    let s = slope.abs().min(0.98);
    if s == 0.0 {
        return 0.0;
    }
    let x2 = s / (1.0 - s);
    slope.signum() * 0.5 * ((1.0 + x2 * (2.0 * d).exp()) / (1.0 + x2)).ln()
}

/// Minimum phase (radians) at each data point from `ln|Z|` (see the [module docs](self)).
fn minimum_phase(log_freq: &[f64], ln_ohms: &[f64], slopes: &[f64]) -> Vec<f64> {
    let n = log_freq.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let (u0, u1) = (log_freq[0], log_freq[n - 1]);
    let ln2 = std::f64::consts::LN_2;
    let octaves = (u1 - u0) / ln2 + 2.0 * EXTENSION_OCTAVES;
    let per_octave = PHASE_GRID_PER_OCTAVE.min(MAX_PHASE_GRID as f64 / octaves);
    let h = ln2 / per_octave;
    let start = u0 - EXTENSION_OCTAVES * ln2;
    let m = ((octaves * per_octave).ceil() as usize + 1).min(MAX_PHASE_GRID + 2);
    let span = ln2 / 12.0;
    let slope_lo = end_slope(log_freq, ln_ohms, false, span).min(0.0);
    let slope_hi = end_slope(log_freq, ln_ohms, true, span);
    let grid: Vec<f64> = (0..m)
        .map(|k| {
            let u = start + k as f64 * h;
            if u < u0 {
                ln_ohms[0] - first_order_continuation(u0 - u, slope_lo)
            } else if u > u1 {
                ln_ohms[n - 1] + first_order_continuation(u - u1, slope_hi)
            } else {
                hermite(log_freq, ln_ohms, slopes, u)
            }
        })
        .collect();
    let cell_slope: Vec<f64> = grid.windows(2).map(|w| (w[1] - w[0]) / h).collect();
    // weight[k] = ∫ over [k·h, (k+1)·h] of ln coth(|u|/2) du.
    let cumulative: Vec<f64> = (0..=m).map(|k| kernel_integral(k as f64 * h)).collect();
    let weight: Vec<f64> = cumulative.windows(2).map(|w| w[1] - w[0]).collect();
    // φ at grid node j: (1/π)·Σ_cells slope·weight(offset), the cell [u_k, u_{k+1}] lying
    // at [(k − j)·h, (k − j + 1)·h] from node j; a cell left of the node (k < j) mirrors to
    // weight[j − k − 1].
    let phase_grid: Vec<f64> = (0..m)
        .map(|j| {
            let left: f64 = cell_slope[..j]
                .iter()
                .enumerate()
                .map(|(k, s)| s * weight[j - k - 1])
                .sum();
            let right: f64 = cell_slope[j..]
                .iter()
                .enumerate()
                .map(|(k, s)| s * weight[k])
                .sum();
            (left + right) / std::f64::consts::PI
        })
        .collect();
    log_freq
        .iter()
        .map(|&u| {
            let pos = (u - start) / h;
            let k = (pos.floor() as usize).min(m - 2);
            let t = pos - k as f64;
            (phase_grid[k] * (1.0 - t) + phase_grid[k + 1] * t)
                .clamp(-std::f64::consts::FRAC_PI_2, std::f64::consts::FRAC_PI_2)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::log_frequencies;
    use crate::load::testutil::{example_networks, Z_OUTS};
    use crate::load::{deviation_db, divider};

    fn test_grid() -> Vec<f64> {
        log_frequencies(10.0, 40_000.0, 48.0)
    }

    #[test]
    fn kernel_integral_known_values() {
        // G(∞) = π²/4; continuity at the branch point x = 1/4; near 0, x(1 − ln(x/2)).
        let quarter_pi2 = std::f64::consts::PI.powi(2) / 4.0;
        assert!((kernel_integral(60.0) - quarter_pi2).abs() < 1e-15);
        let below = kernel_integral(0.25 - 1e-14);
        let above = kernel_integral(0.25);
        assert!((below - above).abs() < 1e-13, "{below} vs {above}");
        // G(1) and G(0.2) to 30 digits (mpmath quadrature).
        assert!((kernel_integral(1.0) - 1.719_998_816_519_991).abs() < 1e-14);
        assert!((kernel_integral(0.2) - 0.660_738_930_333_273_5).abs() < 1e-13);
        let x = 1e-6;
        assert!((kernel_integral(x) - x * (1.0 - (0.5 * x).ln())).abs() < 1e-17);
        // Independent check: fine midpoint rule of ln coth(u/2) on [0.2, 3].
        let steps = 200_000;
        let step = 2.8 / steps as f64;
        let mid: f64 = (0..steps)
            .map(|i| {
                let u = 0.2 + (i as f64 + 0.5) * step;
                (1.0 / (0.5 * u).tanh()).ln() * step
            })
            .sum();
        let diff = kernel_integral(3.0) - kernel_integral(0.2);
        assert!((mid - diff).abs() < 1e-9, "{mid} vs {diff}");
    }

    #[test]
    fn interpolation_reproduces_points_and_holds_ends() {
        let net = Network::parse(crate::load::examples::HD600_LIKE).unwrap();
        let curve = ImpedanceCurve::from_network(&net, &test_grid());
        for p in curve.points() {
            let z = curve.impedance(p.freq_hz);
            assert!((z.norm() - p.ohms).abs() < 1e-9 * p.ohms);
            assert!((z.arg().to_degrees() - p.phase_deg.unwrap()).abs() < 1e-9);
        }
        let first = curve.points()[0];
        let last = *curve.points().last().unwrap();
        assert!((curve.impedance(1.0).norm() - first.ohms).abs() < 1e-9);
        assert!((curve.impedance(0.0).norm() - first.ohms).abs() < 1e-9);
        assert!((curve.impedance(f64::NAN).norm() - first.ohms).abs() < 1e-9);
        assert!((curve.impedance(1e6).norm() - last.ohms).abs() < 1e-9);
    }

    /// Between the points: the interpolated divider within 0.005 dB of the formula on all
    /// three examples (worst: the multi-BA dip) — what the FIR's 0.02 dB budget needs.
    #[test]
    fn interpolation_between_points_is_accurate() {
        for (name, net) in example_networks() {
            let curve = ImpedanceCurve::from_network(&net, &test_grid());
            let mut worst = 0.0f64;
            for &z_out in &Z_OUTS {
                for f in log_frequencies(20.0, 20_000.0, 200.0) {
                    let want = divider(net.impedance(f), z_out).norm();
                    let got = divider(curve.impedance(f), z_out).norm();
                    worst = worst.max((20.0 * (got / want).log10()).abs());
                }
            }
            println!("{name}: interpolated divider within {worst:.5} dB");
            assert!(worst < 0.005, "{name}: {worst}");
        }
    }

    /// Phase derived from |Z| only: within 1° of the network's true phase over
    /// 20 Hz–20 kHz (the brief allows "a few degrees"), and the divider deviation within
    /// 0.05 dB of the formula for every Z_out.
    #[test]
    fn minimum_phase_from_magnitude() {
        for (name, net) in example_networks() {
            let curve = ImpedanceCurve::from_network(&net, &test_grid()).without_phase();
            assert!(curve.phase_is_derived());
            let mut worst_phase = 0.0f64;
            let mut worst_db = 0.0f64;
            for f in log_frequencies(20.0, 20_000.0, 48.0) {
                let truth = net.impedance(f);
                let derived = curve.impedance(f);
                worst_phase = worst_phase.max((derived.arg() - truth.arg()).abs().to_degrees());
                for &z_out in &Z_OUTS {
                    let got = deviation_db(
                        divider(derived, z_out),
                        divider(curve.impedance(1000.0), z_out),
                    );
                    let want =
                        deviation_db(divider(truth, z_out), divider(net.impedance(1000.0), z_out));
                    worst_db = worst_db.max((got - want).abs());
                }
            }
            println!(
                "{name}: derived phase within {worst_phase:.3}°, divider within {worst_db:.4} dB"
            );
            assert!(worst_phase < 1.0, "{name}: {worst_phase}°");
            assert!(worst_db < 0.05, "{name}: {worst_db} dB");
        }
        // A pure series capacitor + resistor (phase −45° at the corner) from |Z| alone.
        let net = Network::parse("R(10) + C(10u)").unwrap();
        let curve = ImpedanceCurve::from_network(&net, &test_grid()).without_phase();
        let corner = 1.0 / (std::f64::consts::TAU * 10.0 * 10e-6);
        let phase = curve.impedance(corner).arg().to_degrees();
        println!("R + C at its corner: derived phase {phase:.3}° (true −45°)");
        assert!((phase + 45.0).abs() < 0.5);
    }

    fn zma_sample() -> String {
        "* REW impedance export\r\n\
         * Freq(Hz) Z(ohm) Phase(deg)\r\n\
         \r\n\
         20.0  300.5  1.5\r\n\
         // a comment\r\n\
         100\t480.25\t-10\r\n\
         ; another\r\n\
         1000 300.0 2.0\r\n\
         # and another\r\n\
         20000 306.4 11.9\r\n"
            .to_string()
    }

    #[test]
    fn parses_zma_and_csv() {
        let c = ImpedanceCurve::parse_zma(&zma_sample(), "hd600.zma").unwrap();
        assert_eq!(c.points().len(), 4);
        assert_eq!(
            c.points()[1],
            CurvePoint {
                freq_hz: 100.0,
                ohms: 480.25,
                phase_deg: Some(-10.0)
            }
        );
        assert!(!c.phase_is_derived());
        // Header + comma, semicolon with decimal commas, tab; 2 and 3 columns.
        let csv = "Frequency (Hz),Impedance (ohm)\n20,32\n1000,33.5\n20000,40\n";
        let c = ImpedanceCurve::parse_csv(csv, "a.csv").unwrap();
        assert_eq!(c.points().len(), 3);
        assert!(c.phase_is_derived());
        let csv = "\u{feff}f;Z;phase\r\n20;32,5;-1,5\r\n1000;33;0\r\n20000;40;30\r\n";
        let c = ImpedanceCurve::parse_csv(csv, "b.csv").unwrap();
        assert_eq!(c.points()[0].ohms, 32.5);
        assert_eq!(c.points()[0].phase_deg, Some(-1.5));
        let csv = "20\t32\t1\n1000\t33\t2\n20000\t40\t3\n";
        assert_eq!(
            ImpedanceCurve::parse_csv(csv, "c.csv")
                .unwrap()
                .points()
                .len(),
            3
        );
    }

    #[test]
    fn zma_round_trip() {
        let net = Network::parse(crate::load::examples::MULTI_BA).unwrap();
        let curve = ImpedanceCurve::from_network(&net, &test_grid());
        let back = ImpedanceCurve::parse_zma(&curve.to_zma(), "x.zma").unwrap();
        assert_eq!(back, curve);
    }

    /// Every rejection names the file and the line.
    #[test]
    fn rejects_bad_files_with_file_and_line() {
        let cases: Vec<(&str, Format, &str)> = vec![
            (
                "20 30 1\n10 30 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: frequency 10 Hz does not increase",
            ),
            (
                "20 30 1\n20 30 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: frequency 20 Hz does not increase",
            ),
            (
                "* c\n0 30 1\n10 30 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: frequency 0 Hz is not a positive",
            ),
            (
                "-5 30 1\n10 30 1\n30 30 1\n",
                Format::Zma,
                "f.zma:1: frequency -5 Hz",
            ),
            (
                "10 30 1\nNaN 30 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: frequency NaN Hz",
            ),
            (
                "10 30 1\n20 0 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: impedance 0 ohms",
            ),
            (
                "10 30 1\n20 -3 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: impedance -3 ohms",
            ),
            (
                "10 30 1\n20 NaN 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: impedance NaN ohms",
            ),
            (
                "10 30 1\n20 inf 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: impedance inf ohms",
            ),
            (
                "10 30 1\n20 30 95\n30 30 1\n",
                Format::Zma,
                "f.zma:2: phase 95° is outside",
            ),
            (
                "10 30 1\n20 30 -91\n30 30 1\n",
                Format::Zma,
                "f.zma:2: phase -91° is outside",
            ),
            (
                "10 30 1\n20 30 NaN\n30 30 1\n",
                Format::Zma,
                "f.zma:2: phase NaN°",
            ),
            (
                "10 30 1\n20 30\n30 30 1\n",
                Format::Zma,
                "f.zma:2: found 2 columns, but the first data line (line 1) has 3",
            ),
            (
                "10 30 1 4\n20 30 1 4\n30 30 1 4\n",
                Format::Zma,
                "f.zma:1: expected 2 or 3 columns",
            ),
            (
                "10\n20\n30\n",
                Format::Zma,
                "f.zma:1: expected 2 or 3 columns",
            ),
            (
                "10 30 1\n20 3O 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: column 2: \"3O\" is not a number",
            ),
            (
                "10 30 1\nhello world 1\n30 30 1\n",
                Format::Zma,
                "f.zma:2: column 1: \"hello\"",
            ),
            (
                "10 30 1\n20 30 1\x00\n",
                Format::Zma,
                "f.zma:2: binary data (control character U+0000)",
            ),
            (
                "10 30 1\n20 30 1\n",
                Format::Zma,
                "f.zma: only 2 data points",
            ),
            ("* only comments\n\n", Format::Zma, "f.zma: empty"),
            ("", Format::Zma, "f.zma: empty"),
            (
                "Hz,ohm\n10,30\n20;30\n30,30\n",
                Format::Csv,
                "f.zma:3: found 1 columns, but the first data line (line 2) has 2",
            ),
            (
                "Hz,ohm\n10,30\nmore,junk\n30,30\n",
                Format::Csv,
                "f.zma:3: column 1: \"more\"",
            ),
            (
                "10,30,1\n5,30,1\n30,30,1\n",
                Format::Csv,
                "f.zma:2: frequency 5 Hz does not increase",
            ),
        ];
        for (text, format, want) in cases {
            let got = parse_text(text, "f.zma", format).unwrap_err().to_string();
            assert!(
                got.starts_with(want),
                "{text:?}: got {got:?}, want {want:?}"
            );
        }
        // Too many points.
        let mut big = String::new();
        for i in 1..=MAX_POINTS + 1 {
            big.push_str(&format!("{i} 8\n"));
        }
        let e = ImpedanceCurve::parse_zma(&big, "big.zma").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("big.zma:{}: more than 200000 data points", MAX_POINTS + 1)
        );
        // Mixed phase in points.
        let pts = vec![
            CurvePoint {
                freq_hz: 1.0,
                ohms: 1.0,
                phase_deg: Some(0.0),
            },
            CurvePoint {
                freq_hz: 2.0,
                ohms: 1.0,
                phase_deg: None,
            },
            CurvePoint {
                freq_hz: 3.0,
                ohms: 1.0,
                phase_deg: Some(0.0),
            },
        ];
        assert_eq!(
            ImpedanceCurve::from_points(pts).unwrap_err().to_string(),
            "<points>:2: some points have a phase and others not"
        );
    }

    /// Files: extension choice, the 4 MiB limit, invalid UTF-8 (named with its line), and
    /// a missing file.
    #[test]
    fn reads_files() {
        let dir = std::env::temp_dir().join(format!("sourcery-load-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let zma = dir.join("hd.ZMA");
        std::fs::write(&zma, zma_sample()).unwrap();
        assert_eq!(ImpedanceCurve::parse_file(&zma).unwrap().points().len(), 4);
        let txt = dir.join("hd.txt");
        std::fs::write(&txt, zma_sample()).unwrap();
        assert_eq!(ImpedanceCurve::parse_file(&txt).unwrap().points().len(), 4);
        let csv = dir.join("z.csv");
        std::fs::write(&csv, "f,z\n10,5\n20,6\n30,7\n").unwrap();
        assert_eq!(ImpedanceCurve::parse_file(&csv).unwrap().points().len(), 3);

        let bad = dir.join("bin.zma");
        std::fs::write(&bad, b"10 30 1\n20 30 1\n\xff\xfe junk\n").unwrap();
        let e = ImpedanceCurve::parse_file(&bad).unwrap_err().to_string();
        assert!(e.contains("bin.zma:3: not a text file"), "{e}");

        let large = dir.join("large.zma");
        let line = "1000.000000 8.000000 0.000000\n";
        std::fs::write(
            &large,
            line.repeat((MAX_FILE_BYTES as usize) / line.len() + 1),
        )
        .unwrap();
        let e = ImpedanceCurve::parse_file(&large).unwrap_err().to_string();
        assert!(e.contains("large.zma: file too large"), "{e}");

        let other = dir.join("z.wav");
        std::fs::write(&other, "x").unwrap();
        let e = ImpedanceCurve::parse_file(&other).unwrap_err().to_string();
        assert!(e.contains("z.wav: unknown file type \"wav\""), "{e}");

        let missing = dir.join("missing.zma");
        let e = ImpedanceCurve::parse_file(&missing)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.zma: cannot read the file"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
