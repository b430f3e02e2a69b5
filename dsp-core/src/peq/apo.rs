//! EqualizerAPO / AutoEQ parametric EQ files (`… ParametricEQ.txt`):
//!
//! ```text
//! Preamp: -6.3 dB
//! Filter 1: ON LSC Fc 105 Hz Gain 4.1 dB Q 0.70
//! Filter 2: ON PK Fc 143 Hz Gain -4.1 dB Q 0.42
//! ```
//!
//! [`parse_apo`] reads one into an [`ApoProfile`] (validated at the edge: every problem is
//! an [`ApoError`] naming file, line and reason), [`to_settings`] turns that into
//! [`PeqSettings`] and [`to_apo`] writes settings back.
//!
//! # Accepted
//! - `Preamp: <gain> dB` (at most one; EqualizerAPO would add several up, which usually
//!   means two profiles were pasted together, so a second one is an error).
//! - `Filter: …` or `Filter <n>: …` with `ON` or `OFF` (kept, `on = false`), a type
//!   (`PK`, `PEQ`, `Modal`, `LSC`, `HSC`, `LS`, `HS`, `LP`, `LPQ`, `HP`, `HPQ`, `BP`, `NO`,
//!   `AP`; `None` lines are skipped, as EqualizerAPO does), then in any order
//!   `Fc <f> Hz`, `Gain <g> dB`, `Q <q>` or `BW Oct <octaves>`; shelves may carry a slope
//!   right after the type (`LS 6dB`, `HSC 12 dB`).
//! - Keywords in any case, CRLF line ends, a UTF-8 byte-order mark, `#` comments (whole
//!   line or trailing), blank lines, decimal commas (`Fc 1000,5 Hz`), numbers glued to
//!   their keyword or unit (`Fc1000Hz`, `6dB`), no-break spaces inside numbers.
//! - EqualizerAPO's Room-EQ-Wizard rule for `Fc`: a number of five or more characters,
//!   without exponent, whose fourth-last character is the decimal point is read with that
//!   point as a thousands separator (`Fc 1.000 Hz` → 1000 Hz; `Fc 1,000 Hz` too).
//!   [`to_apo`] never writes such a number.
//! - Missing Q: LP/HP/BP 0.7071, NO 30, shelves the fixed slope S = 0.9 (EqualizerAPO's
//!   defaults); `Gain` may be left out for LP, HP, BP, NO and AP, whose gain is ignored.
//!
//! # Mapping to [`Band`]s (exactly what EqualizerAPO computes)
//! - `LSC`/`HSC` with Q → [`FilterType::LowShelfQ`]/[`FilterType::HighShelfQ`].
//! - `LS`/`HS`/`LSC`/`HSC` with neither Q nor slope → [`FilterType::LowShelf`]/
//!   [`FilterType::HighShelf`] (S = 0.9, `Fc` the midpoint).
//! - A slope `<x> dB` means S = x/12; `LSC`/`HSC` with a slope become `LSC`/`HSC` with the
//!   Q of that slope at the band's gain ([`super::design::shelf_q_from_slope`]).
//! - `LS`/`HS` with a slope or a Q read `Fc` as a corner frequency: EqualizerAPO moves the
//!   cookbook midpoint to `Fc·10^(|gain|/(80·S))` (`LS`; divided for `HS`), so they become
//!   `LSC`/`HSC` at that midpoint with the equivalent Q — the same biquad.
//! - `BW Oct b` → `Q = 1/(2·sinh(ln2/2·b))` ([`super::design::q_from_bandwidth`], sample-rate
//!   independent). EqualizerAPO uses the cookbook's *digital* bandwidth instead, which
//!   depends on the sample rate ([`super::design::apo_bandwidth_q`]): identical at low
//!   frequencies, a wider filter than ours near Nyquist (AutoEQ writes Q, not BW).
//! - Ranges: `Fc` 10 Hz … 24 kHz, |gain| and |preamp| ≤ 30 dB, Q 0.1 … 40 (what the PEQ
//!   can do); values outside are errors, not silently clamped.
//!
//! # Rejected, with file, line and reason
//! Unknown commands (EqualizerAPO's `Channel:`, `Include:`, `GraphicEQ:`, … are not PEQ
//! filters), unknown types, missing `Fc`, zero/negative/non-finite/out-of-range numbers,
//! `kHz`, Q ≤ 0, a Q or BW on a type that has none, BW on shelves (EqualizerAPO ignores
//! it), both Q and BW, a slope on a non-shelf, junk tokens, duplicate keywords, a second
//! `Preamp`, control characters (binary files), classic-Mac CR-only line ends, files over
//! [`MAX_FILE_BYTES`].

use std::fmt::Write as _;

use super::design::{q_from_bandwidth, shelf_q_from_slope, shelf_slope_from_q};
use super::design::{APO_DEFAULT_Q, APO_NOTCH_Q};
use super::{Band, FilterType, PeqDesign, PeqSettings, BANDS, MAX_GAIN_DB, MAX_Q, MIN_Q};

/// Largest file accepted (1 MiB; real profiles are under 1 kB).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Lowest `Fc` accepted (Hz).
pub const MIN_IMPORT_FREQ_HZ: f64 = super::MIN_FREQ_HZ;

/// Highest `Fc` accepted (Hz); the PEQ further limits a band to 0.49·fs at run time.
pub const MAX_IMPORT_FREQ_HZ: f64 = 24_000.0;

/// A parsed profile: what the file says, validated, before it is fitted to the ten bands.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApoProfile {
    /// The `Preamp:` gain (dB; 0 when the file has none).
    pub preamp_db: f64,
    /// Every filter in file order, `OFF` ones kept with `on = false`, in canonical form
    /// ([`Band::canonical`]).
    pub filters: Vec<Band>,
    /// The file name given to [`parse_apo`] (for errors from [`to_settings`]).
    pub file: String,
    /// The 1-based line of each filter in `filters`.
    pub filter_lines: Vec<usize>,
}

/// A problem with a profile: displays as `{file}:{line}: {reason}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct ApoError {
    /// The file name as given to [`parse_apo`].
    pub file: String,
    /// 1-based line number (1 for problems with the whole file).
    pub line: usize,
    /// What is wrong, in words.
    pub reason: String,
}

/// Parse the text of an EqualizerAPO / AutoEQ parametric EQ file; `file` names it in
/// errors. See the module docs for what is accepted.
pub fn parse_apo(text: &str, file: &str) -> Result<ApoProfile, ApoError> {
    let fail = |line: usize, reason: String| ApoError {
        file: file.to_owned(),
        line,
        reason,
    };
    if text.len() > MAX_FILE_BYTES {
        return Err(fail(
            1,
            format!(
                "file is {} bytes; an EqualizerAPO profile is at most {MAX_FILE_BYTES} bytes (1 MiB)",
                text.len()
            ),
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut profile = ApoProfile {
        file: file.to_owned(),
        ..ApoProfile::default()
    };
    let mut preamp_line: Option<usize> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.contains('\r') {
            return Err(fail(
                line_no,
                "carriage return inside a line (classic Mac line ends are not supported; \
                 use LF or CRLF)"
                    .into(),
            ));
        }
        if let Some(c) = line
            .chars()
            .find(|&c| (c.is_control() && c != '\t') || c == '\u{fffd}')
        {
            return Err(fail(
                line_no,
                format!(
                    "not a text file (character U+{:04X}); expected an EqualizerAPO profile",
                    c as u32
                ),
            ));
        }
        let content = match line.find('#') {
            Some(at) => &line[..at],
            None => line,
        };
        let content = content.trim();
        if content.is_empty() {
            continue;
        }
        let Some((command, params)) = content.split_once(':') else {
            return Err(fail(
                line_no,
                format!(
                    "expected `Preamp: …` or `Filter <n>: …`, found `{}`",
                    shorten(content)
                ),
            ));
        };
        let command = command.trim();
        let lower = command.to_ascii_lowercase();
        if lower == "preamp" {
            if let Some(first) = preamp_line {
                return Err(fail(
                    line_no,
                    format!(
                        "second `Preamp` line (the first is on line {first}); EqualizerAPO \
                         would add them up — merge them into one"
                    ),
                ));
            }
            preamp_line = Some(line_no);
            profile.preamp_db = parse_preamp(params).map_err(|r| fail(line_no, r))?;
        } else if let Some(rest) = lower.strip_prefix("filter") {
            let label = rest.trim();
            if !label.is_empty() && !label.chars().all(|c| c.is_ascii_digit()) {
                return Err(fail(
                    line_no,
                    format!(
                        "bad filter label `{command}` (expected `Filter` or `Filter <number>`)"
                    ),
                ));
            }
            if let Some(band) = parse_filter(params).map_err(|r| fail(line_no, r))? {
                profile.filters.push(band);
                profile.filter_lines.push(line_no);
            }
        } else {
            return Err(fail(
                line_no,
                format!(
                    "unsupported command `{command}`: only `Preamp` and `Filter` lines of a \
                     parametric EQ can be imported"
                ),
            ));
        }
    }
    Ok(profile)
}

/// Fit a profile to the PEQ's ten bands: on, [`PeqDesign::ApoRbj`], the profile's preamp,
/// its filters in order and [`Band::OFF`] for the unused bands. More than ten filters fit
/// if at most ten are `ON` (the earliest `OFF` ones fill the remaining bands); more than
/// ten active filters are an error naming the eleventh.
pub fn to_settings(profile: &ApoProfile) -> Result<PeqSettings, ApoError> {
    let active = profile.filters.iter().filter(|b| b.on).count();
    if active > BANDS {
        let eleventh = profile
            .filters
            .iter()
            .enumerate()
            .filter(|(_, b)| b.on)
            .nth(BANDS)
            .map_or(1, |(i, _)| {
                profile.filter_lines.get(i).copied().unwrap_or(1)
            });
        return Err(ApoError {
            file: profile.file.clone(),
            line: eleventh,
            reason: format!(
                "{active} active filters, but the PEQ has {BANDS} bands (this is the \
                 11th); turn some OFF or remove them"
            ),
        });
    }
    let mut spare_off = BANDS - active;
    let mut bands = [Band::OFF; BANDS];
    let mut n = 0;
    for band in &profile.filters {
        if !band.on {
            if spare_off == 0 {
                continue;
            }
            spare_off -= 1;
        }
        bands[n] = *band;
        n += 1;
    }
    Ok(PeqSettings {
        on: true,
        design: PeqDesign::ApoRbj,
        preamp_db: profile.preamp_db,
        bands,
    })
}

/// Write settings as an EqualizerAPO profile: `Preamp: x dB`, then one `Filter n:` line per
/// band (`OFF` for bands that are off), with every number in its shortest exact decimal
/// form, so that [`parse_apo`] → [`to_settings`] gives back the same bands
/// ([`Band::canonical`] form). Gain is written only for types that use it and Q only for
/// types that have one (`LS`/`HS` have a fixed slope: a Q would change their meaning in
/// EqualizerAPO). `on` and `design` are not part of the format.
pub fn to_apo(settings: &PeqSettings) -> String {
    let mut out = String::with_capacity(64 * (BANDS + 1));
    let _ = writeln!(out, "Preamp: {} dB", settings.preamp_db);
    for (i, band) in settings.bands.iter().enumerate() {
        let _ = write!(
            out,
            "Filter {}: {} {} Fc {} Hz",
            i + 1,
            if band.on { "ON" } else { "OFF" },
            band.kind.apo_code(),
            format_freq(band.freq_hz)
        );
        if band.kind.has_gain() {
            let _ = write!(out, " Gain {} dB", band.gain_db);
        }
        if band.kind.has_q() {
            let _ = write!(out, " Q {}", band.q);
        }
        out.push('\n');
    }
    out
}

/// Shortest exact decimal of `freq_hz`, with a trailing zero added where EqualizerAPO's
/// thousands-separator rule would otherwise misread it (`12.345` → `12.3450`).
fn format_freq(freq_hz: f64) -> String {
    let mut s = format!("{freq_hz}");
    if is_thousands_form(&s) {
        s.push('0');
    }
    s
}

/// EqualizerAPO's rule (`BiQuadFilterFactory::getFreq`): at least five characters, no
/// exponent, a '.' fourth from the end.
fn is_thousands_form(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 5 && !s.contains(['e', 'E']) && b[b.len() - 4] == b'.'
}

/// A line shortened for an error message.
fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head}…")
    }
}

/// A lexical token of a parameter string.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A run of ASCII letters.
    Word(String),
    /// A run that looks like a number (sign, digits, '.', exponent).
    Number(String),
    /// Anything else (one character).
    Other(char),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::Word(s) | Token::Number(s) => s.clone(),
            Token::Other(c) => c.to_string(),
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self, Token::Word(w) if w.eq_ignore_ascii_case(word))
    }
}

/// Split parameters into words, numbers and other characters. Decimal commas become
/// points and no-break spaces vanish first (as EqualizerAPO does).
fn tokenize(params: &str) -> Vec<Token> {
    let cleaned: String = params
        .chars()
        .filter(|&c| c != '\u{a0}')
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let chars: Vec<char> = cleaned.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphabetic() {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() || matches!(c, '+' | '-' | '.') {
            let start = i;
            i += 1;
            while i < chars.len() {
                let d = chars[i];
                let exponent = matches!(d, 'e' | 'E')
                    && chars[i - 1].is_ascii_digit()
                    && match chars.get(i + 1) {
                        Some(n) if n.is_ascii_digit() => true,
                        Some('+' | '-') => chars.get(i + 2).is_some_and(|n| n.is_ascii_digit()),
                        _ => false,
                    };
                if d.is_ascii_digit() || d == '.' {
                    i += 1;
                } else if exponent {
                    i += 2; // 'e' and the digit or sign after it
                } else {
                    break;
                }
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else {
            tokens.push(Token::Other(c));
            i += 1;
        }
    }
    tokens
}

/// A finite number from a number token.
fn number(token: Option<&Token>, what: &str) -> Result<f64, String> {
    match token {
        Some(Token::Number(s)) => match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            Ok(_) => Err(format!("{what} `{s}` is out of range")),
            Err(_) => Err(format!("{what} `{s}` is not a number")),
        },
        Some(t) => Err(format!(
            "expected a number for {what}, found `{}`",
            t.text()
        )),
        None => Err(format!("missing number for {what}")),
    }
}

/// `<gain> dB`.
fn parse_preamp(params: &str) -> Result<f64, String> {
    let tokens = tokenize(params);
    let gain = number(tokens.first(), "Preamp")?;
    match tokens.get(1) {
        Some(t) if t.is_word("dB") => {}
        Some(t) => {
            return Err(format!(
                "expected `dB` after the preamp, found `{}`",
                t.text()
            ))
        }
        None => return Err("missing `dB` after the preamp".into()),
    }
    if let Some(t) = tokens.get(2) {
        return Err(format!("unexpected `{}` after `Preamp: … dB`", t.text()));
    }
    if gain.abs() > MAX_GAIN_DB {
        return Err(format!("preamp {gain} dB is outside ±{MAX_GAIN_DB} dB"));
    }
    Ok(gain)
}

/// A type as written in the file.
#[derive(Clone, Copy, PartialEq)]
enum ApoType {
    Peak,
    LowPass,
    HighPass,
    BandPass,
    Notch,
    AllPass,
    /// `LS`/`HS` (corner frequency when given a slope or Q) or `LSC`/`HSC` (midpoint).
    Shelf {
        low: bool,
        centre: bool,
    },
    None,
}

fn apo_type(word: &str) -> Option<ApoType> {
    Some(match word.to_ascii_uppercase().as_str() {
        "PK" | "PEQ" | "MODAL" => ApoType::Peak,
        "LP" | "LPQ" => ApoType::LowPass,
        "HP" | "HPQ" => ApoType::HighPass,
        "BP" => ApoType::BandPass,
        "NO" => ApoType::Notch,
        "AP" => ApoType::AllPass,
        "LS" => ApoType::Shelf {
            low: true,
            centre: false,
        },
        "HS" => ApoType::Shelf {
            low: false,
            centre: false,
        },
        "LSC" => ApoType::Shelf {
            low: true,
            centre: true,
        },
        "HSC" => ApoType::Shelf {
            low: false,
            centre: true,
        },
        "NONE" => ApoType::None,
        _ => return None,
    })
}

/// The parameters after `Filter n:`; `None` for a `None` filter.
fn parse_filter(params: &str) -> Result<Option<Band>, String> {
    let tokens = tokenize(params);
    let mut it = tokens.iter().peekable();
    let on = match it.next() {
        Some(t) if t.is_word("ON") => true,
        Some(t) if t.is_word("OFF") => false,
        Some(t) => {
            return Err(format!(
                "expected `ON` or `OFF` after `Filter:`, found `{}`",
                t.text()
            ))
        }
        None => return Err("empty filter (expected `ON PK Fc … Hz Gain … dB Q …`)".into()),
    };
    let kind = match it.next() {
        Some(Token::Word(w)) => apo_type(w).ok_or_else(|| {
            format!(
                "unknown filter type `{w}` (expected PK, LSC, HSC, LS, HS, LP, HP, BP, NO or AP)"
            )
        })?,
        Some(t) => return Err(format!("expected a filter type, found `{}`", t.text())),
        None => return Err("missing filter type after ON/OFF".into()),
    };
    if kind == ApoType::None {
        return Ok(None);
    }
    let shelf = matches!(kind, ApoType::Shelf { .. });

    // An optional slope right after the type: `6dB` / `6 dB`.
    let mut slope_db = None;
    if let Some(Token::Number(_)) = it.peek() {
        let value = number(it.next(), "slope")?;
        match it.next() {
            Some(t) if t.is_word("dB") => {}
            _ => {
                return Err(format!(
                    "expected `dB` after the slope `{value}` (as in `LS 12dB`)"
                ))
            }
        }
        if !shelf {
            return Err("a slope (`<x> dB` after the type) only applies to shelf filters".into());
        }
        if value <= 0.0 {
            return Err(format!("shelf slope {value} dB must be positive"));
        }
        slope_db = Some(value);
    }

    let mut freq = None;
    let mut gain = None;
    let mut q = None;
    let mut bw = None;
    while let Some(token) = it.next() {
        let Token::Word(word) = token else {
            return Err(format!(
                "unexpected `{}` (expected Fc, Gain, Q or BW Oct)",
                token.text()
            ));
        };
        let key = word.to_ascii_lowercase();
        let duplicate = || format!("`{word}` given twice");
        match key.as_str() {
            "fc" => {
                if freq.is_some() {
                    return Err(duplicate());
                }
                let raw = match it.peek() {
                    Some(Token::Number(s)) => s.clone(),
                    _ => String::new(),
                };
                let mut value = number(it.next(), "Fc")?;
                if is_thousands_form(&raw) {
                    value *= 1000.0;
                }
                match it.next() {
                    Some(t) if t.is_word("Hz") => {}
                    Some(t) if t.is_word("kHz") => {
                        return Err("write the frequency in Hz (`Fc 1000 Hz`), not kHz".into())
                    }
                    Some(t) => return Err(format!("expected `Hz` after Fc, found `{}`", t.text())),
                    None => return Err("missing `Hz` after Fc".into()),
                }
                freq = Some(value);
            }
            "gain" => {
                if gain.is_some() {
                    return Err(duplicate());
                }
                let value = number(it.next(), "Gain")?;
                match it.next() {
                    Some(t) if t.is_word("dB") => {}
                    Some(t) => {
                        return Err(format!("expected `dB` after Gain, found `{}`", t.text()))
                    }
                    None => return Err("missing `dB` after Gain".into()),
                }
                gain = Some(value);
            }
            "q" => {
                if q.is_some() {
                    return Err(duplicate());
                }
                q = Some(number(it.next(), "Q")?);
            }
            "bw" => {
                if bw.is_some() {
                    return Err(duplicate());
                }
                match it.next() {
                    Some(t) if t.is_word("Oct") => {}
                    _ => return Err("expected `BW Oct <octaves>`".into()),
                }
                bw = Some(number(it.next(), "BW Oct")?);
            }
            _ => {
                return Err(format!(
                    "unexpected `{word}` (expected Fc, Gain, Q or BW Oct)"
                ))
            }
        }
    }

    let freq = freq.ok_or("missing `Fc <frequency> Hz`")?;
    if freq <= 0.0 {
        return Err(format!("frequency {freq} Hz must be positive"));
    }
    if !(MIN_IMPORT_FREQ_HZ..=MAX_IMPORT_FREQ_HZ).contains(&freq) {
        return Err(format!(
            "frequency {freq} Hz is outside {MIN_IMPORT_FREQ_HZ} Hz … {MAX_IMPORT_FREQ_HZ} Hz"
        ));
    }
    let takes_gain = matches!(kind, ApoType::Peak | ApoType::Shelf { .. });
    let gain_db = match (gain, takes_gain) {
        (Some(g), true) => g,
        (None, true) => {
            return Err("missing `Gain <gain> dB` (required for peaks and shelves)".into())
        }
        // EqualizerAPO ignores the gain of LP, HP, BP, NO and AP.
        (_, false) => 0.0,
    };
    if gain_db.abs() > MAX_GAIN_DB {
        return Err(format!("gain {gain_db} dB is outside ±{MAX_GAIN_DB} dB"));
    }
    if q.is_some() && bw.is_some() {
        return Err("both Q and BW Oct given; keep one".into());
    }
    if let Some(v) = q {
        if v <= 0.0 {
            return Err(format!("Q {v} must be positive"));
        }
    }
    if let Some(v) = bw {
        if v <= 0.0 {
            return Err(format!("bandwidth {v} octaves must be positive"));
        }
        if shelf {
            return Err(
                "BW Oct does not apply to shelf filters (EqualizerAPO ignores it); use Q or a slope"
                    .into(),
            );
        }
    }
    if slope_db.is_some() && q.is_some() {
        return Err("both a slope and a Q given for a shelf; keep one".into());
    }
    let given_q = q.or(bw.map(q_from_bandwidth));

    let (kind, freq_hz, q) = match kind {
        ApoType::Shelf { low, centre } => {
            let (with_q, fixed) = if low {
                (FilterType::LowShelfQ, FilterType::LowShelf)
            } else {
                (FilterType::HighShelfQ, FilterType::HighShelf)
            };
            // The slope S, if one was given (directly, or implied by a Q for LS/HS).
            let slope = slope_db.map(|s| s / 12.0);
            match (slope, given_q) {
                (None, None) => (fixed, freq, Band::OFF.q),
                (Some(s), None) => {
                    let q = shelf_q_from_slope(gain_db, s);
                    if !q.is_finite() {
                        return Err(format!(
                            "slope {} dB is too steep for a {gain_db} dB shelf",
                            s * 12.0
                        ));
                    }
                    (with_q, corner_to_midpoint(low, centre, freq, gain_db, s), q)
                }
                (None, Some(q)) => {
                    let s = shelf_slope_from_q(gain_db, q);
                    if !centre && (!s.is_finite() || s <= 0.0) {
                        return Err(format!(
                            "Q {q} has no corner-frequency equivalent for a {gain_db} dB `LS`/`HS` \
                             shelf; use LSC/HSC"
                        ));
                    }
                    (with_q, corner_to_midpoint(low, centre, freq, gain_db, s), q)
                }
                (Some(_), Some(_)) => unreachable!("rejected above"),
            }
        }
        ApoType::Peak => (
            FilterType::Peak,
            freq,
            given_q.ok_or("a PK filter needs `Q <q>` or `BW Oct <octaves>`")?,
        ),
        ApoType::AllPass => (
            FilterType::AllPass,
            freq,
            given_q.ok_or("an AP filter needs `Q <q>` or `BW Oct <octaves>`")?,
        ),
        ApoType::LowPass => (FilterType::LowPass, freq, given_q.unwrap_or(APO_DEFAULT_Q)),
        ApoType::HighPass => (FilterType::HighPass, freq, given_q.unwrap_or(APO_DEFAULT_Q)),
        ApoType::BandPass => (FilterType::BandPass, freq, given_q.unwrap_or(APO_DEFAULT_Q)),
        ApoType::Notch => (FilterType::Notch, freq, given_q.unwrap_or(APO_NOTCH_Q)),
        ApoType::None => unreachable!("handled above"),
    };
    if !(MIN_Q..=MAX_Q).contains(&q) {
        return Err(match bw {
            Some(b) => format!("bandwidth {b} octaves is Q {q:.4}, outside {MIN_Q} … {MAX_Q}"),
            None => format!("Q {q} is outside {MIN_Q} … {MAX_Q}"),
        });
    }
    if !(MIN_IMPORT_FREQ_HZ..=MAX_IMPORT_FREQ_HZ).contains(&freq_hz) {
        return Err(format!(
            "corner frequency {freq} Hz puts the shelf's midpoint at {freq_hz:.1} Hz, outside \
             {MIN_IMPORT_FREQ_HZ} Hz … {MAX_IMPORT_FREQ_HZ} Hz"
        ));
    }
    Ok(Some(
        Band {
            on,
            kind,
            freq_hz,
            gain_db,
            q,
        }
        .canonical(),
    ))
}

/// EqualizerAPO's corner-frequency adjustment (`BiQuadFilter.cpp`, "frequency adjustment
/// for DCX2496") for `LS`/`HS`: midpoint = corner·10^(|gain|/(80·S)) for a low shelf,
/// corner/… for a high shelf. `LSC`/`HSC` (`centre`) are already midpoints.
fn corner_to_midpoint(low: bool, centre: bool, freq: f64, gain_db: f64, slope: f64) -> f64 {
    if centre {
        return freq;
    }
    let factor = 10f64.powf(gain_db.abs() / 80.0 / slope);
    if low {
        freq * factor
    } else {
        freq / factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::log_frequencies;
    use crate::peq::design::{rbj, shelf_q_from_slope};
    use realfft::num_complex::Complex64;
    use std::f64::consts::{PI, TAU};

    const FILES: [&str; 4] = [
        "Campfire Audio Andromeda ParametricEQ.txt",
        "Final Audio E5000 ParametricEQ.txt",
        "HIFIMAN Edition XS ParametricEQ.txt",
        "Sennheiser HD 600 ParametricEQ.txt",
    ];

    fn read(name: &str) -> String {
        let path = format!("{}/tests/data/autoeq/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn parse_ok(text: &str) -> ApoProfile {
        parse_apo(text, "test.txt").unwrap_or_else(|e| panic!("{e}"))
    }

    fn one(text: &str) -> Band {
        let p = parse_ok(text);
        assert_eq!(p.filters.len(), 1, "{text}");
        p.filters[0]
    }

    #[test]
    fn real_autoeq_files_import_band_for_band() {
        for name in FILES {
            let text = read(name);
            let profile = parse_apo(&text, name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(profile.filters.len(), 10, "{name}");
            // Every filter against its line, read here with a plain whitespace split:
            // `Filter n: ON TYPE Fc f Hz Gain g dB Q q`.
            let mut lines = text.lines().filter(|l| l.starts_with("Filter"));
            for (band, &line_no) in profile.filters.iter().zip(&profile.filter_lines) {
                let line = lines.next().unwrap();
                assert_eq!(text.lines().nth(line_no - 1), Some(line));
                let t: Vec<&str> = line.split_whitespace().collect();
                let num = |i: usize| t[i].parse::<f64>().unwrap();
                let kind = match t[3] {
                    "PK" => FilterType::Peak,
                    "LSC" => FilterType::LowShelfQ,
                    "HSC" => FilterType::HighShelfQ,
                    other => panic!("{other}"),
                };
                assert_eq!(
                    *band,
                    Band::new(kind, num(5), num(8), num(11)),
                    "{name}: {line}"
                );
            }
            let preamp: f64 = text
                .lines()
                .next()
                .unwrap()
                .split_whitespace()
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(profile.preamp_db, preamp);
        }
        // A few by hand (Sennheiser HD 600).
        let p = parse_ok(&read(FILES[3]));
        assert_eq!(p.preamp_db, -6.3);
        assert_eq!(
            p.filters[0],
            Band::new(FilterType::LowShelfQ, 105.0, 6.5, 0.70)
        );
        assert_eq!(
            p.filters[5],
            Band::new(FilterType::HighShelfQ, 10_000.0, -3.1, 0.70)
        );
        assert_eq!(
            p.filters[9],
            Band::new(FilterType::Peak, 5434.0, -1.2, 5.70)
        );
        let s = to_settings(&p).unwrap();
        assert_eq!(s.bands[2], Band::new(FilterType::Peak, 8445.0, 3.3, 1.61));
        assert!(s.on && s.design == PeqDesign::ApoRbj && s.preamp_db == -6.3);
    }

    /// Straight from the Audio-EQ-Cookbook (PK, and shelves with Q), independent of
    /// `design.rs`: |H| at `f` in dB.
    fn cookbook_db(kind: &str, f0: f64, gain_db: f64, q: f64, f: f64, fs: f64) -> f64 {
        let a = 10f64.powf(gain_db / 40.0);
        let w0 = 2.0 * PI * f0 / fs;
        let alpha = w0.sin() / (2.0 * q);
        let cs = w0.cos();
        let sa = 2.0 * a.sqrt() * alpha;
        let (b, den) = match kind {
            "PK" => (
                [1.0 + alpha * a, -2.0 * cs, 1.0 - alpha * a],
                [1.0 + alpha / a, -2.0 * cs, 1.0 - alpha / a],
            ),
            "LSC" => (
                [
                    a * ((a + 1.0) - (a - 1.0) * cs + sa),
                    2.0 * a * ((a - 1.0) - (a + 1.0) * cs),
                    a * ((a + 1.0) - (a - 1.0) * cs - sa),
                ],
                [
                    (a + 1.0) + (a - 1.0) * cs + sa,
                    -2.0 * ((a - 1.0) + (a + 1.0) * cs),
                    (a + 1.0) + (a - 1.0) * cs - sa,
                ],
            ),
            "HSC" => (
                [
                    a * ((a + 1.0) + (a - 1.0) * cs + sa),
                    -2.0 * a * ((a - 1.0) + (a + 1.0) * cs),
                    a * ((a + 1.0) + (a - 1.0) * cs - sa),
                ],
                [
                    (a + 1.0) - (a - 1.0) * cs + sa,
                    2.0 * ((a - 1.0) - (a + 1.0) * cs),
                    (a + 1.0) - (a - 1.0) * cs - sa,
                ],
            ),
            other => panic!("{other}"),
        };
        let z = Complex64::from_polar(1.0, -TAU * f / fs);
        let poly = |c: [f64; 3]| c[0] + c[1] * z + c[2] * z * z;
        20.0 * (poly(b) / poly(den)).norm().log10()
    }

    #[test]
    fn real_files_match_an_independent_cookbook_computation() {
        // 1/24-octave points 20 Hz … 20 kHz at 44.1 and 48 kHz; tolerance 0.01 dB (the
        // two differ only by rounding, ~1e-12 dB).
        let mut worst = 0.0f64;
        for name in FILES {
            let text = read(name);
            let settings = to_settings(&parse_ok(&text)).unwrap();
            for fs in [44_100.0, 48_000.0] {
                for f in log_frequencies(20.0, 20_000.0, 24.0) {
                    let mut want = settings.preamp_db;
                    for line in text.lines().filter(|l| l.starts_with("Filter")) {
                        let t: Vec<&str> = line.split_whitespace().collect();
                        let num = |i: usize| t[i].parse::<f64>().unwrap();
                        want += cookbook_db(t[3], num(5), num(8), num(11), f, fs);
                    }
                    let got = 20.0 * settings.response(f, fs).norm().log10();
                    worst = worst.max((got - want).abs());
                }
            }
        }
        println!("AutoEQ files vs independent cookbook: worst {worst:.2e} dB");
        assert!(worst < 0.01);
    }

    /// xorshift64* for reproducible random settings.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn export_import_round_trip_is_exact() {
        let mut rng = Rng(0x5eed);
        for round in 0..2000 {
            let mut s = PeqSettings {
                preamp_db: (rng.unit() - 0.5) * 60.0,
                ..PeqSettings::default()
            };
            for band in &mut s.bands {
                let kind = FilterType::from_index((rng.next() % 10) as usize);
                let mut freq = 10.0 * 2400f64.powf(rng.unit());
                // Values that trip EqualizerAPO's thousands-separator rule if written
                // carelessly, and short decimals.
                match rng.next() % 4 {
                    0 => freq = 12.345,
                    1 => freq = (freq * 1000.0).round() / 1000.0,
                    _ => {}
                }
                *band = Band {
                    on: !rng.next().is_multiple_of(3),
                    kind,
                    freq_hz: freq,
                    gain_db: (rng.unit() - 0.5) * 60.0,
                    q: 0.1 * 400f64.powf(rng.unit()),
                }
                .canonical();
            }
            if round == 0 {
                s.preamp_db = -0.0;
                s.bands[0].gain_db = 1e-7;
            }
            let text = to_apo(&s);
            let back = to_settings(
                &parse_apo(&text, "export.txt").unwrap_or_else(|e| panic!("{e}\n{text}")),
            )
            .unwrap();
            assert_eq!(back, s, "{text}");
        }
        // The thousands rule: 12.345 is written with a guard digit.
        let mut s = PeqSettings::default();
        s.bands[0] = Band::new(FilterType::Peak, 12.345, 1.0, 1.0);
        assert!(to_apo(&s).contains("Fc 12.3450 Hz"));
        println!("{}", to_apo(&s));
    }

    #[test]
    fn tolerated_variants() {
        // CRLF, BOM, comments, blank lines, unnumbered and OFF filters, case, decimal
        // comma, glued numbers, no-break space, None filters.
        let text = "\u{feff}# AutoEQ-ish\r\n\r\npreamp: -3,5 db # trailing\r\n\
                    filter: on pk fc 1000,5 hz gain -2 DB q 1,41\r\n\
                    Filter 2: OFF LSC Fc 105 Hz Gain 4 dB Q 0.7\r\n\
                    Filter 3: ON NONE\r\n\
                    Filter  4 :  ON  HP  Fc1000Hz\r\n\
                    Filter 5: ON PK Fc 2\u{a0}000 Hz Gain 1 dB BW Oct 1\r\n";
        let p = parse_ok(text);
        assert_eq!(p.preamp_db, -3.5);
        assert_eq!(p.filter_lines, [4, 5, 7, 8]);
        assert_eq!(
            p.filters[0],
            Band::new(FilterType::Peak, 1000.5, -2.0, 1.41)
        );
        assert_eq!(
            p.filters[1],
            Band {
                on: false,
                ..Band::new(FilterType::LowShelfQ, 105.0, 4.0, 0.7)
            }
        );
        assert_eq!(
            p.filters[2],
            Band::new(
                FilterType::HighPass,
                1000.0,
                0.0,
                std::f64::consts::FRAC_1_SQRT_2
            )
        );
        assert_eq!(p.filters[3].freq_hz, 2000.0);
        assert!((p.filters[3].q - 2f64.sqrt()).abs() < 1e-12);
        // Defaults and ignored gains.
        assert_eq!(one("Filter: ON NO Fc 60 Hz").q, 30.0);
        assert_eq!(
            one("Filter: ON LP Fc 60 Hz Gain 5 dB Q 2"),
            Band::new(FilterType::LowPass, 60.0, 0.0, 2.0)
        );
        assert_eq!(
            one("Filter: ON BP Fc 60 Hz").q,
            std::f64::consts::FRAC_1_SQRT_2
        );
        assert_eq!(
            one("Filter: ON AP Fc 60 Hz Q 0.5").kind,
            FilterType::AllPass
        );
        assert_eq!(
            one("Filter: ON PEQ Fc 60 Hz Gain 1 dB Q 1").kind,
            FilterType::Peak
        );
        assert_eq!(
            one("Filter: ON HPQ Fc 60 Hz Q 1").kind,
            FilterType::HighPass
        );
        // Shelves without Q or slope: the fixed-slope types (S = 0.9, midpoint).
        assert_eq!(
            one("Filter: ON LS Fc 100 Hz Gain 5 dB"),
            Band::new(FilterType::LowShelf, 100.0, 5.0, 0.707)
        );
        assert_eq!(
            one("Filter: ON HSC Fc 9000 Hz Gain -5 dB").kind,
            FilterType::HighShelf
        );
        // Thousands separator (EqualizerAPO's REW rule) only for Fc.
        assert_eq!(
            one("Filter: ON PK Fc 1.000 Hz Gain 1 dB Q 1").freq_hz,
            1000.0
        );
        assert_eq!(
            one("Filter: ON PK Fc 1,000 Hz Gain 1 dB Q 1").freq_hz,
            1000.0
        );
        assert_eq!(
            one("Filter: ON PK Fc 1.5e3 Hz Gain 1.000 dB Q 1").freq_hz,
            1500.0
        );
    }

    /// EqualizerAPO's own biquad for a shelf with slope S or Q and the DCX2496 corner
    /// adjustment (`BiQuadFilter::initialize`), written out here independently.
    fn apo_corner_shelf(
        low: bool,
        corner: f64,
        gain_db: f64,
        slope_or_q: f64,
        is_slope: bool,
        fs: f64,
    ) -> [f64; 5] {
        let a = 10f64.powf(gain_db / 40.0);
        let s = if is_slope {
            slope_or_q
        } else {
            1.0 / ((1.0 / (slope_or_q * slope_or_q) - 2.0) / (a + 1.0 / a) + 1.0)
        };
        let factor = 10f64.powf(gain_db.abs() / 80.0 / s);
        let f = if low {
            corner * factor
        } else {
            corner / factor
        };
        let w0 = TAU * f / fs;
        let (sn, cs) = w0.sin_cos();
        let alpha = if is_slope {
            sn / 2.0 * ((a + 1.0 / a) * (1.0 / s - 1.0) + 2.0).sqrt()
        } else {
            sn / (2.0 * slope_or_q)
        };
        let beta = 2.0 * a.sqrt() * alpha;
        let sign = if low { 1.0 } else { -1.0 };
        let b0 = a * ((a + 1.0) - sign * (a - 1.0) * cs + beta);
        let b1 = sign * 2.0 * a * ((a - 1.0) - sign * (a + 1.0) * cs);
        let b2 = a * ((a + 1.0) - sign * (a - 1.0) * cs - beta);
        let a0 = (a + 1.0) + sign * (a - 1.0) * cs + beta;
        let a1 = -sign * 2.0 * ((a - 1.0) + sign * (a + 1.0) * cs);
        let a2 = (a + 1.0) + sign * (a - 1.0) * cs - beta;
        [b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0]
    }

    #[test]
    fn corner_frequency_shelves_become_the_same_biquad() {
        let fs = 48_000.0;
        let cases = [
            (
                "Filter: ON LS 6dB Fc 100 Hz Gain 6 dB",
                true,
                100.0,
                6.0,
                0.5,
                true,
            ),
            (
                "Filter: ON LS 12 dB Fc 300 Hz Gain -9 dB",
                true,
                300.0,
                -9.0,
                1.0,
                true,
            ),
            (
                "Filter: ON HS 6dB Fc 8000 Hz Gain 4 dB",
                false,
                8000.0,
                4.0,
                0.5,
                true,
            ),
            (
                "Filter: ON LS Fc 120 Hz Gain 5 dB Q 0.8",
                true,
                120.0,
                5.0,
                0.8,
                false,
            ),
            (
                "Filter: ON HS Fc 6000 Hz Gain -3 dB Q 0.6",
                false,
                6000.0,
                -3.0,
                0.6,
                false,
            ),
        ];
        for (text, low, corner, gain, sq, is_slope) in cases {
            let band = one(text);
            assert!(matches!(
                band.kind,
                FilterType::LowShelfQ | FilterType::HighShelfQ
            ));
            let c = rbj(&band, fs);
            let want = apo_corner_shelf(low, corner, gain, sq, is_slope, fs);
            let got = [c.b0, c.b1, c.b2, c.a1, c.a2];
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{text}: {got:?} vs {want:?}");
            }
        }
        // LSC with a slope keeps Fc as the midpoint: Q of S = 0.5.
        let band = one("Filter: ON LSC 6dB Fc 100 Hz Gain 6 dB");
        assert_eq!(band.freq_hz, 100.0);
        assert_eq!(band.q, shelf_q_from_slope(6.0, 0.5));
    }

    #[test]
    fn malformed_files_name_file_line_and_reason() {
        let big = "# padding\n".repeat(MAX_FILE_BYTES / 10 + 1);
        let ok = "Filter: ON PK Fc 100 Hz Gain 1 dB Q 1\n";
        let cases: Vec<(String, usize, &str)> = vec![
            (
                "Preamp: -6 dB\nFilter 1: ON XX Fc 100 Hz Gain 1 dB Q 1".into(),
                2,
                "unknown filter type `XX`",
            ),
            ("Filter: ON PK Gain 1 dB Q 1".into(), 1, "missing `Fc"),
            (
                "Filter: ON PK Fc -100 Hz Gain 1 dB Q 1".into(),
                1,
                "must be positive",
            ),
            (
                "Filter: ON PK Fc 0 Hz Gain 1 dB Q 1".into(),
                1,
                "must be positive",
            ),
            (
                "Filter: ON PK Fc NaN Hz Gain 1 dB Q 1".into(),
                1,
                "expected a number for Fc, found `NaN`",
            ),
            (
                "Filter: ON PK Fc inf Hz Gain 1 dB Q 1".into(),
                1,
                "expected a number for Fc",
            ),
            (
                "Filter: ON PK Fc 1e999 Hz Gain 1 dB Q 1".into(),
                1,
                "out of range",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB Q 0".into(),
                1,
                "Q 0 must be positive",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB Q -2".into(),
                1,
                "must be positive",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB Q 1 foo".into(),
                1,
                "unexpected `foo`",
            ),
            (
                "Preamp: -1 dB\n\nPreamp: -2 dB".into(),
                3,
                "second `Preamp` line (the first is on line 1)",
            ),
            (big, 1, "at most 1048576 bytes"),
            (
                format!("{ok}{ok}Fil\0ter"),
                3,
                "not a text file (character U+0000)",
            ),
            ("Filter: ON PK Fc 100 Hz Q 1".into(), 1, "missing `Gain"),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB".into(),
                1,
                "PK filter needs `Q",
            ),
            ("Filter: ON AP Fc 100 Hz".into(), 1, "AP filter needs"),
            ("Filter: ON PK Fc 1 kHz Gain 1 dB Q 1".into(), 1, "not kHz"),
            (
                "Filter: ON PK Fc 100 Gain 1 dB Q 1".into(),
                1,
                "expected `Hz` after Fc, found `Gain`",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 Q 1".into(),
                1,
                "expected `dB` after Gain, found `Q`",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB Q 1 BW Oct 1".into(),
                1,
                "both Q and BW",
            ),
            (
                "Filter: ON LSC Fc 100 Hz Gain 1 dB BW Oct 1".into(),
                1,
                "does not apply to shelf",
            ),
            (
                "Filter: ON PK 6dB Fc 100 Hz Gain 1 dB Q 1".into(),
                1,
                "only applies to shelf",
            ),
            (
                "Filter: ON LS 6dB Fc 100 Hz Gain 1 dB Q 1".into(),
                1,
                "both a slope and a Q",
            ),
            ("Channel: L\n".into(), 1, "unsupported command `Channel`"),
            (
                format!("{ok}hello world"),
                2,
                "expected `Preamp: …` or `Filter <n>: …`",
            ),
            (
                "Filter A: ON PK Fc 100 Hz Gain 1 dB Q 1".into(),
                1,
                "bad filter label",
            ),
            (
                "Filter: PK Fc 100 Hz Gain 1 dB Q 1".into(),
                1,
                "expected `ON` or `OFF`",
            ),
            (format!("{ok}Filter 3:"), 2, "empty filter"),
            (
                "Filter: ON PK Fc 100 Hz Gain 45 dB Q 1".into(),
                1,
                "outside ±30 dB",
            ),
            (
                "Filter: ON PK Fc 5 Hz Gain 1 dB Q 1".into(),
                1,
                "outside 10 Hz",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB Q 100".into(),
                1,
                "outside 0.1 … 40",
            ),
            (
                "Filter: ON PK Fc 100 Hz Fc 200 Hz Gain 1 dB Q 1".into(),
                1,
                "`Fc` given twice",
            ),
            ("Preamp: -6 dB extra".into(), 1, "unexpected `extra`"),
            ("Preamp: -6".into(), 1, "missing `dB`"),
            (
                "Preamp: -1 dB\rFilter: ON PK Fc 100 Hz Gain 1 dB Q 1".into(),
                1,
                "carriage return",
            ),
            (
                "Filter: ON LS 36dB Fc 100 Hz Gain 20 dB".into(),
                1,
                "too steep",
            ),
            ("Filter: ON".into(), 1, "missing filter type"),
            (
                "Filter: ON PK Fc 1.2.3 Hz Gain 1 dB Q 1".into(),
                1,
                "is not a number",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB BW Oct 0".into(),
                1,
                "bandwidth 0 octaves must be positive",
            ),
            (
                format!("{ok}# fine\nFilter: ON PK Fc 100 Hz Gain 1 dB Q"),
                3,
                "missing number for Q",
            ),
            (
                "Filter: ON PK Fc 100 Hz Gain 1 dB BW 1".into(),
                1,
                "expected `BW Oct",
            ),
            ("Preamp: 31 dB".into(), 1, "outside ±30 dB"),
            (
                "Filter: ON LS Fc 20000 Hz Gain 20 dB Q 0.7".into(),
                1,
                "midpoint",
            ),
        ];
        assert!(cases.len() >= 30);
        for (text, line, reason) in &cases {
            let err = parse_apo(text, "bad file.txt").expect_err(reason);
            let shown = err.to_string();
            let prefix = format!("bad file.txt:{line}: ");
            assert!(
                shown.starts_with(&prefix),
                "{shown:?} should start with {prefix:?}"
            );
            assert!(
                shown.contains(reason),
                "{shown:?} should mention {reason:?}"
            );
            assert_eq!((err.file.as_str(), err.line), ("bad file.txt", *line));
        }
        println!("{} malformed files rejected, e.g.:", cases.len());
        for (text, _, _) in cases.iter().take(3) {
            println!("  {}", parse_apo(text, "bad file.txt").unwrap_err());
        }
    }

    #[test]
    fn to_settings_fits_ten_bands() {
        let line = |i: usize, on: bool| {
            format!(
                "Filter {i}: {} PK Fc {} Hz Gain 1 dB Q 1\n",
                if on { "ON" } else { "OFF" },
                100 * i
            )
        };
        // 12 active: refused, naming the 11th active filter's line (line 12: 1 preamp).
        let text: String =
            "Preamp: -1 dB\n".to_owned() + &(1..=12).map(|i| line(i, true)).collect::<String>();
        let err = to_settings(&parse_apo(&text, "many.txt").unwrap()).unwrap_err();
        assert_eq!(err.line, 12);
        assert!(
            err.to_string()
                .starts_with("many.txt:12: 12 active filters"),
            "{err}"
        );
        // 12 filters, 2 of them OFF: fits, active ones all kept, in order.
        let text: String = (1..=12).map(|i| line(i, i != 3 && i != 7)).collect();
        let s = to_settings(&parse_apo(&text, "ok.txt").unwrap()).unwrap();
        assert_eq!(s.bands.iter().filter(|b| b.on).count(), 10);
        let freqs: Vec<f64> = s.bands.iter().map(|b| b.freq_hz).collect();
        assert_eq!(
            freqs,
            [100.0, 200.0, 400.0, 500.0, 600.0, 800.0, 900.0, 1000.0, 1100.0, 1200.0]
        );
        // 11 filters with 2 OFF: one OFF fits (the first).
        let text: String = (1..=11).map(|i| line(i, i != 3 && i != 7)).collect();
        let s = to_settings(&parse_apo(&text, "ok.txt").unwrap()).unwrap();
        assert_eq!(
            s.bands[2],
            Band {
                on: false,
                ..Band::new(FilterType::Peak, 300.0, 1.0, 1.0)
            }
        );
        assert_eq!(s.bands[9].freq_hz, 1100.0);
        // Fewer than ten: the rest are Band::OFF.
        let s = to_settings(&parse_apo(&line(1, true), "one.txt").unwrap()).unwrap();
        assert_eq!(s.bands[1..], [Band::OFF; 9]);
    }
}
