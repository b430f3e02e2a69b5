//! Lumped impedance networks written as a small expression language, e.g.
//! `R(300) + L(0.5m) + (R(200) | L(167m) | C(16.8u))`.
//!
//! # Language
//! - Elements: `R(value)` (ohms), `L(value)` (henries), `C(value)` (farads); the letter may
//!   be upper or lower case.
//! - Values: a decimal number (`18`, `0.5`, `.5`, `1e-3`, `2.2E+1`) with an optional SI
//!   prefix `p` (1e-12), `n` (1e-9), `u`/`µ`/`μ` (1e-6), `m` (1e-3), `k` (1e3), `M` (1e6),
//!   optionally followed by the element's unit (`Ω`/`ohm`/`ohms` for R, `H` for L, `F` for C):
//!   `L(12u)`, `C(2.2uF)`, `R(1.5k)`, `R(47Ω)`. Every value must be finite and between
//!   [`MIN_VALUE`] and [`MAX_VALUE`] (which also rejects zero and negative values).
//! - Operators: `+` puts two networks in series, `|` in parallel; `|` binds tighter than `+`
//!   (like `×` and `+`), so `R(1) + R(2) | R(3)` is `R(1) + (R(2) | R(3))`. Parentheses
//!   group; whitespace is ignored.
//! - Limits: at most [`MAX_CHARS`] characters, [`MAX_ELEMENTS`] elements, [`MAX_REACTIVE`]
//!   inductors and capacitors (the order of `Z(s)`, see [`Network::rational`]) and
//!   [`MAX_DEPTH`] levels of parentheses.
//!
//! Errors ([`NetworkError`]) name the 1-based character column where parsing stopped.
//!
//! # Two evaluations
//! [`Network::impedance`] evaluates `Z(jω)` directly with complex arithmetic on the tree —
//! the reference every test compares against. [`Network::rational`] builds the same `Z(s)`
//! as a ratio of two real polynomials, from which [`crate::load::LoadIir`] takes its poles
//! and zeros.

use std::f64::consts::TAU;
use std::fmt;

use super::Complex64;

/// Longest accepted network text, in characters.
pub const MAX_CHARS: usize = 4096;
/// Most elements (R, L and C together) in one network.
pub const MAX_ELEMENTS: usize = 64;
/// Most inductors and capacitors in one network. Each reactive element raises the degree of
/// the numerator and denominator of `Z(s)` by at most one (see [`Network::rational`]), so
/// this bounds both degrees by 16 — the order up to which the root finder behind
/// [`crate::load::LoadIir`] is tested. A headphone model needs far fewer: a dynamic driver
/// is 3 (voice-coil inductance + motional L and C), a five-driver BA earphone with its
/// crossover about 8.
pub const MAX_REACTIVE: usize = 16;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 32;
/// Smallest accepted element value (1e-15: a femtohenry, a femtofarad). Values below it are
/// almost certainly typos and push the polynomial coefficients out of a sane range.
pub const MIN_VALUE: f64 = 1e-15;
/// Largest accepted element value (1e12: a teraohm). Same reason as [`MIN_VALUE`].
pub const MAX_VALUE: f64 = 1e12;

/// Reference angular frequency ω_ref = 2π·1 kHz (rad/s) by which [`Rational`] scales its
/// variable (`s' = s/ω_ref`), so audio-band roots sit near |s'| ≈ 0.01…100 and the
/// coefficients of a degree-16 polynomial stay far inside `f64` range.
pub const OMEGA_REF: f64 = TAU * 1000.0;

/// Kind of a lumped element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ElementKind {
    /// Resistor, value in ohms: `Z = R`.
    Resistor,
    /// Inductor, value in henries: `Z = sL`.
    Inductor,
    /// Capacitor, value in farads: `Z = 1/(sC)`.
    Capacitor,
}

impl ElementKind {
    fn letter(self) -> char {
        match self {
            Self::Resistor => 'R',
            Self::Inductor => 'L',
            Self::Capacitor => 'C',
        }
    }
}

/// A node of the network tree. Nested series (or parallel) groups are flattened while
/// parsing, so a `Series` never directly contains another `Series`.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Element(ElementKind, f64),
    Series(Vec<Node>),
    Parallel(Vec<Node>),
}

/// A lumped R/L/C impedance network (a two-terminal circuit of series and parallel
/// combinations), parsed from text by [`Network::parse`].
///
/// Its [`Display`](fmt::Display) prints an equivalent expression that parses back to the
/// same network.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    root: Node,
    elements: usize,
    reactive: usize,
}

/// Why a network text was rejected. Columns are 1-based and count characters (not bytes),
/// so `µ` is one column.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NetworkError {
    /// Nothing but whitespace.
    #[error("empty network (expected e.g. \"R(300) + L(0.5m)\")")]
    Empty,
    /// Longer than [`MAX_CHARS`].
    #[error("network text too long: {chars} characters (at most {MAX_CHARS})")]
    TooLong {
        /// Length of the text in characters.
        chars: usize,
    },
    /// A token other than the one the grammar needs here.
    #[error("expected {expected} at column {column}, found {found}")]
    Expected {
        /// What the parser needed (e.g. `')'`).
        expected: &'static str,
        /// What it found (a quoted character or "end of input").
        found: String,
        /// 1-based column.
        column: usize,
    },
    /// A letter other than R, L or C where an element should start.
    #[error("unknown element '{letter}' at column {column} (expected R, L or C)")]
    UnknownElement {
        /// The offending letter.
        letter: char,
        /// 1-based column.
        column: usize,
    },
    /// Characters that look like a number but do not parse as one.
    #[error("malformed number \"{text}\" at column {column}")]
    BadNumber {
        /// The text of the number.
        text: String,
        /// 1-based column of its first character.
        column: usize,
    },
    /// A number that parses but is not a usable element value.
    #[error("{kind} value {value:e} at column {column} {reason}")]
    BadValue {
        /// "R", "L" or "C".
        kind: char,
        /// The value (after the SI prefix).
        value: f64,
        /// Why it is rejected.
        reason: &'static str,
        /// 1-based column of the number.
        column: usize,
    },
    /// More than [`MAX_DEPTH`] nested parentheses.
    #[error("parentheses nested deeper than {MAX_DEPTH} at column {column}")]
    TooDeep {
        /// 1-based column of the opening parenthesis.
        column: usize,
    },
    /// More than [`MAX_ELEMENTS`] elements.
    #[error("more than {MAX_ELEMENTS} elements at column {column}")]
    TooManyElements {
        /// 1-based column of the first element over the limit.
        column: usize,
    },
    /// More than [`MAX_REACTIVE`] inductors and capacitors.
    #[error(
        "more than {MAX_REACTIVE} inductors and capacitors at column {column} \
         (the impedance's order is limited to {MAX_REACTIVE})"
    )]
    TooManyReactive {
        /// 1-based column of the first reactive element over the limit.
        column: usize,
    },
    /// Something after a complete network.
    #[error("unexpected '{found}' at column {column} (expected '+', '|', ')' or the end)")]
    Trailing {
        /// The first unexpected character.
        found: char,
        /// 1-based column.
        column: usize,
    },
}

/// `Z(s)` as a ratio of two real polynomials in the scaled variable `s' = s/ω_ref`
/// ([`OMEGA_REF`]): `Z = Σ num[k]·s'^k / Σ den[k]·s'^k`, coefficients in ascending powers.
///
/// Built by polynomial arithmetic from the network tree (see [`Network::rational`]). For a
/// network of positive R, L and C every coefficient is ≥ 0 (sums and products of
/// non-negative numbers), so no cancellation happens while building it; the trailing
/// (highest-power) coefficient of each polynomial is non-zero.
#[derive(Debug, Clone, PartialEq)]
pub struct Rational {
    /// Numerator coefficients, ascending powers of `s'`.
    pub num: Vec<f64>,
    /// Denominator coefficients, ascending powers of `s'`.
    pub den: Vec<f64>,
}

impl Rational {
    /// `Z` at the complex angular frequency `s` (rad/s, unscaled).
    pub fn eval(&self, s: Complex64) -> Complex64 {
        let scaled = s / OMEGA_REF;
        poly_eval(&self.num, scaled) / poly_eval(&self.den, scaled)
    }

    /// `Z(j2πf)` at `freq_hz` (equals [`Network::impedance`] up to rounding).
    pub fn impedance(&self, freq_hz: f64) -> Complex64 {
        self.eval(Complex64::new(0.0, TAU * freq_hz))
    }

    /// Order of `Z(s)`: the larger of the two polynomial degrees.
    pub fn degree(&self) -> usize {
        self.num.len().max(self.den.len()).saturating_sub(1)
    }

    fn constant(value: f64) -> Self {
        Self {
            num: vec![value],
            den: vec![1.0],
        }
    }

    fn series(a: &Self, b: &Self) -> Self {
        // N1/D1 + N2/D2 = (N1·D2 + N2·D1) / (D1·D2).
        Self {
            num: poly_add(&poly_mul(&a.num, &b.den), &poly_mul(&b.num, &a.den)),
            den: poly_mul(&a.den, &b.den),
        }
    }

    fn parallel(a: &Self, b: &Self) -> Self {
        // (N1/D1)·(N2/D2) / (N1/D2 + N2/D2) = N1·N2 / (N1·D2 + N2·D1).
        Self {
            num: poly_mul(&a.num, &b.num),
            den: poly_add(&poly_mul(&a.num, &b.den), &poly_mul(&b.num, &a.den)),
        }
    }
}

/// `Σ c[k]·x^k` by Horner's rule.
pub(crate) fn poly_eval(c: &[f64], x: Complex64) -> Complex64 {
    c.iter()
        .rev()
        .fold(Complex64::new(0.0, 0.0), |acc, &ck| acc * x + ck)
}

/// Product of two polynomials (ascending coefficients).
pub(crate) fn poly_mul(a: &[f64], b: &[f64]) -> Vec<f64> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let mut out = vec![0.0; a.len() + b.len() - 1];
    for (i, &ai) in a.iter().enumerate() {
        for (j, &bj) in b.iter().enumerate() {
            out[i + j] += ai * bj;
        }
    }
    out
}

/// Sum of two polynomials (ascending coefficients).
pub(crate) fn poly_add(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; a.len().max(b.len())];
    for (i, v) in out.iter_mut().enumerate() {
        *v = a.get(i).copied().unwrap_or(0.0) + b.get(i).copied().unwrap_or(0.0);
    }
    out
}

impl Network {
    /// Parse a network expression (see the [module docs](self) for the language).
    ///
    /// # Errors
    /// A [`NetworkError`] naming what is wrong and the character column, e.g.
    /// `expected ')' at column 14, found end of input`.
    pub fn parse(text: &str) -> Result<Network, NetworkError> {
        let chars: Vec<char> = text.chars().collect();
        if chars.len() > MAX_CHARS {
            return Err(NetworkError::TooLong { chars: chars.len() });
        }
        let mut parser = Parser {
            chars,
            pos: 0,
            depth: 0,
            elements: 0,
            reactive: 0,
        };
        parser.skip_whitespace();
        if parser.peek().is_none() {
            return Err(NetworkError::Empty);
        }
        let root = parser.expression()?;
        parser.skip_whitespace();
        if let Some(c) = parser.peek() {
            return Err(NetworkError::Trailing {
                found: c,
                column: parser.column(),
            });
        }
        Ok(Network {
            root,
            elements: parser.elements,
            reactive: parser.reactive,
        })
    }

    /// Number of elements (R, L and C).
    pub fn elements(&self) -> usize {
        self.elements
    }

    /// Number of inductors and capacitors (an upper bound on the order of `Z(s)`).
    pub fn reactive_elements(&self) -> usize {
        self.reactive
    }

    /// Complex impedance `Z(j2πf)` in ohms at `freq_hz`, evaluated directly on the tree:
    /// `R`, `jωL`, `1/(jωC)`; series impedances add, parallel admittances add.
    ///
    /// This is the reference formula every design is tested against. `freq_hz` is clamped
    /// to at least 1 µHz (at exactly DC an inductor is a short and a capacitor an open
    /// circuit, which the complex arithmetic cannot represent); a parallel group with a
    /// branch of exactly 0 Ω is 0 Ω.
    pub fn impedance(&self, freq_hz: f64) -> Complex64 {
        let freq = if freq_hz.is_finite() {
            freq_hz.max(1e-6)
        } else if freq_hz > 0.0 {
            1e12
        } else {
            1e-6
        };
        node_impedance(&self.root, TAU * freq)
    }

    /// `Z(s)` as a ratio of polynomials in `s' = s/ω_ref` ([`Rational`]).
    ///
    /// Built bottom-up: `R → R/1`, `L → (ω_ref·L)·s'/1`, `C → 1/((ω_ref·C)·s')`; series
    /// `N1/D1 + N2/D2 = (N1·D2 + N2·D1)/(D1·D2)`; parallel `N1·N2/(N1·D2 + N2·D1)`. Nothing
    /// is cancelled, so identical parallel branches leave a common factor in numerator and
    /// denominator (harmless: [`crate::load::LoadIir`] cancels coincident poles and zeros of
    /// the divider). Each reactive element raises each degree by at most one, so both
    /// degrees are ≤ [`MAX_REACTIVE`] = 16.
    pub fn rational(&self) -> Rational {
        let mut r = node_rational(&self.root);
        trim(&mut r.num);
        trim(&mut r.den);
        r
    }

    /// Smallest and largest `|Z|` (ohms) on a 1/96-octave log grid from `f_lo` to `f_hi`
    /// (both included). A feature narrower than 1/96 octave may be under-read.
    pub fn min_max_ohms(&self, f_lo: f64, f_hi: f64) -> (f64, f64) {
        crate::analysis::log_frequencies(f_lo, f_hi, 96.0)
            .iter()
            .map(|&f| self.impedance(f).norm())
            .fold((f64::INFINITY, 0.0), |(lo, hi), z| (lo.min(z), hi.max(z)))
    }
}

/// Drop exact-zero highest-power coefficients (keeps at least one coefficient).
fn trim(c: &mut Vec<f64>) {
    while c.len() > 1 && c.last() == Some(&0.0) {
        c.pop();
    }
}

fn node_impedance(node: &Node, omega: f64) -> Complex64 {
    match node {
        Node::Element(ElementKind::Resistor, v) => Complex64::new(*v, 0.0),
        Node::Element(ElementKind::Inductor, v) => Complex64::new(0.0, omega * v),
        Node::Element(ElementKind::Capacitor, v) => Complex64::new(0.0, -1.0 / (omega * v)),
        Node::Series(children) => children
            .iter()
            .map(|c| node_impedance(c, omega))
            .fold(Complex64::new(0.0, 0.0), |a, b| a + b),
        Node::Parallel(children) => {
            let mut admittance = Complex64::new(0.0, 0.0);
            for child in children {
                let z = node_impedance(child, omega);
                if z.norm_sqr() == 0.0 {
                    return z;
                }
                admittance += z.inv();
            }
            admittance.inv()
        }
    }
}

fn node_rational(node: &Node) -> Rational {
    match node {
        Node::Element(ElementKind::Resistor, v) => Rational::constant(*v),
        Node::Element(ElementKind::Inductor, v) => Rational {
            num: vec![0.0, OMEGA_REF * v],
            den: vec![1.0],
        },
        Node::Element(ElementKind::Capacitor, v) => Rational {
            num: vec![1.0],
            den: vec![0.0, OMEGA_REF * v],
        },
        Node::Series(children) => {
            let mut acc = node_rational(&children[0]);
            for child in &children[1..] {
                acc = Rational::series(&acc, &node_rational(child));
            }
            acc
        }
        Node::Parallel(children) => {
            let mut acc = node_rational(&children[0]);
            for child in &children[1..] {
                acc = Rational::parallel(&acc, &node_rational(child));
            }
            acc
        }
    }
}

/// Recursive-descent parser over the characters of the text.
struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    elements: usize,
    reactive: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn column(&self) -> usize {
        self.pos + 1
    }

    fn skip_whitespace(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(c) => format!("'{c}'"),
            None => "end of input".to_string(),
        }
    }

    fn expect(&mut self, wanted: char, expected: &'static str) -> Result<(), NetworkError> {
        self.skip_whitespace();
        if self.peek() == Some(wanted) {
            self.pos += 1;
            Ok(())
        } else {
            Err(NetworkError::Expected {
                expected,
                found: self.found(),
                column: self.column(),
            })
        }
    }

    /// expression := term ('+' term)*
    fn expression(&mut self) -> Result<Node, NetworkError> {
        let mut items = vec![self.term()?];
        loop {
            self.skip_whitespace();
            if self.peek() != Some('+') {
                break;
            }
            self.pos += 1;
            items.push(self.term()?);
        }
        Ok(combine(items, true))
    }

    /// term := factor ('|' factor)*
    fn term(&mut self) -> Result<Node, NetworkError> {
        let mut items = vec![self.factor()?];
        loop {
            self.skip_whitespace();
            if self.peek() != Some('|') {
                break;
            }
            self.pos += 1;
            items.push(self.factor()?);
        }
        Ok(combine(items, false))
    }

    /// factor := '(' expression ')' | element
    fn factor(&mut self) -> Result<Node, NetworkError> {
        self.skip_whitespace();
        match self.peek() {
            Some('(') => {
                if self.depth >= MAX_DEPTH {
                    return Err(NetworkError::TooDeep {
                        column: self.column(),
                    });
                }
                self.pos += 1;
                self.depth += 1;
                let inner = self.expression()?;
                self.expect(')', "')'")?;
                self.depth -= 1;
                Ok(inner)
            }
            Some(c) if c.is_alphabetic() => self.element(),
            _ => Err(NetworkError::Expected {
                expected: "an element (R, L or C) or '('",
                found: self.found(),
                column: self.column(),
            }),
        }
    }

    /// element := ('R' | 'L' | 'C') '(' value ')'
    fn element(&mut self) -> Result<Node, NetworkError> {
        let column = self.column();
        let letter = self.peek().unwrap_or(' ');
        let kind = match letter {
            'R' | 'r' => ElementKind::Resistor,
            'L' | 'l' => ElementKind::Inductor,
            'C' | 'c' => ElementKind::Capacitor,
            _ => return Err(NetworkError::UnknownElement { letter, column }),
        };
        self.pos += 1;
        self.elements += 1;
        if self.elements > MAX_ELEMENTS {
            return Err(NetworkError::TooManyElements { column });
        }
        if kind != ElementKind::Resistor {
            self.reactive += 1;
            if self.reactive > MAX_REACTIVE {
                return Err(NetworkError::TooManyReactive { column });
            }
        }
        self.expect('(', "'(' after the element letter")?;
        self.skip_whitespace();
        let value = self.value(kind)?;
        self.expect(')', "')'")?;
        Ok(Node::Element(kind, value))
    }

    /// value := number [prefix] [unit]
    fn value(&mut self, kind: ElementKind) -> Result<f64, NetworkError> {
        let start = self.pos;
        let column = self.column();
        let is = |c: Option<char>, f: fn(char) -> bool| c.is_some_and(f);
        if matches!(self.peek(), Some('+' | '-')) {
            self.pos += 1;
        }
        while is(self.peek(), |c| c.is_ascii_digit() || c == '.') {
            self.pos += 1;
        }
        // An exponent only when 'e' is followed by digits (so "1e" is not half-eaten).
        if matches!(self.peek(), Some('e' | 'E')) {
            let mut look = self.pos + 1;
            if matches!(self.chars.get(look), Some('+' | '-')) {
                look += 1;
            }
            if self.chars.get(look).is_some_and(char::is_ascii_digit) {
                self.pos = look;
                while is(self.peek(), |c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if text.is_empty() {
            return Err(NetworkError::Expected {
                expected: "a number",
                found: self.found(),
                column,
            });
        }
        let mantissa: f64 = text
            .parse()
            .map_err(|_| NetworkError::BadNumber { text, column })?;
        let scale = match self.peek() {
            Some('p') => 1e-12,
            Some('n') => 1e-9,
            Some('u' | 'µ' | 'μ') => 1e-6,
            Some('m') => 1e-3,
            Some('k') => 1e3,
            Some('M') => 1e6,
            _ => 1.0,
        };
        if scale != 1.0 {
            self.pos += 1;
        }
        self.skip_unit(kind);
        let value = mantissa * scale;
        let reason = if !value.is_finite() {
            Some("is not finite")
        } else if value <= 0.0 {
            Some("must be positive")
        } else if !(MIN_VALUE..=MAX_VALUE).contains(&value) {
            Some("is out of range (1e-15 to 1e12)")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(NetworkError::BadValue {
                kind: kind.letter(),
                value,
                reason,
                column,
            }),
            None => Ok(value),
        }
    }

    /// Skip an optional unit after the value: `Ω`/`ohm`/`ohms` for R, `H` for L, `F` for C.
    fn skip_unit(&mut self, kind: ElementKind) {
        let rest: String = self.chars[self.pos..].iter().take(4).collect();
        let units: &[&str] = match kind {
            ElementKind::Resistor => &["ohms", "ohm", "\u{3a9}", "\u{2126}"],
            ElementKind::Inductor => &["H"],
            ElementKind::Capacitor => &["F"],
        };
        for unit in units {
            if rest.starts_with(unit) {
                self.pos += unit.chars().count();
                return;
            }
        }
    }
}

/// One node from a list of series (or parallel) items, flattening nested groups of the same
/// kind.
fn combine(items: Vec<Node>, series: bool) -> Node {
    if items.len() == 1 {
        return items.into_iter().next().expect("one item");
    }
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Node::Series(inner) if series => flat.extend(inner),
            Node::Parallel(inner) if !series => flat.extend(inner),
            other => flat.push(other),
        }
    }
    if series {
        Node::Series(flat)
    } else {
        Node::Parallel(flat)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_node(&self.root, f, false)
    }
}

fn write_node(node: &Node, f: &mut fmt::Formatter<'_>, in_parallel: bool) -> fmt::Result {
    match node {
        Node::Element(kind, value) => write!(f, "{}({})", kind.letter(), value),
        Node::Series(children) => {
            // A series group inside a parallel group needs parentheses (`|` binds tighter).
            if in_parallel {
                f.write_str("(")?;
            }
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    f.write_str(" + ")?;
                }
                write_node(child, f, false)?;
            }
            if in_parallel {
                f.write_str(")")?;
            }
            Ok(())
        }
        Node::Parallel(children) => {
            // Parenthesised always, for readability (`R(1) + (R(2) | R(3))`).
            f.write_str("(")?;
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    f.write_str(" | ")?;
                }
                write_node(child, f, true)?;
            }
            f.write_str(")")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(text: &str, f: f64) -> Complex64 {
        Network::parse(text).unwrap().impedance(f)
    }

    #[test]
    fn elements_and_prefixes() {
        let f = 1000.0;
        let w = TAU * f;
        let cases = [
            ("R(18)", Complex64::new(18.0, 0.0)),
            ("R(1.5k)", Complex64::new(1500.0, 0.0)),
            ("r(2M)", Complex64::new(2e6, 0.0)),
            ("R(47Ω)", Complex64::new(47.0, 0.0)),
            ("R(47ohm)", Complex64::new(47.0, 0.0)),
            ("L(12u)", Complex64::new(0.0, w * 12e-6)),
            ("L(12µH)", Complex64::new(0.0, w * 12e-6)),
            ("L(12\u{3bc})", Complex64::new(0.0, w * 12e-6)),
            ("L(1e-3)", Complex64::new(0.0, w * 1e-3)),
            ("L(0.5m)", Complex64::new(0.0, w * 0.5e-3)),
            ("C(2.2u)", Complex64::new(0.0, -1.0 / (w * 2.2e-6))),
            ("C(2.2uF)", Complex64::new(0.0, -1.0 / (w * 2.2e-6))),
            ("C(470n)", Complex64::new(0.0, -1.0 / (w * 470e-9))),
            ("C(100p)", Complex64::new(0.0, -1.0 / (w * 100e-12))),
            ("C(.5E-6)", Complex64::new(0.0, -1.0 / (w * 0.5e-6))),
        ];
        for (text, want) in cases {
            let got = z(text, f);
            assert!(
                (got - want).norm() <= 1e-12 * want.norm(),
                "{text}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn series_parallel_and_precedence() {
        let f = 123.0;
        // `|` binds tighter than `+`.
        let a = z("R(1) + R(2) | R(3)", f);
        assert!((a.re - (1.0 + 6.0 / 5.0)).abs() < 1e-12, "{a}");
        let b = z("(R(1) + R(2)) | R(3)", f);
        assert!((b.re - 1.5).abs() < 1e-12, "{b}");
        // Whitespace anywhere between tokens.
        let c = z("  ( R ( 1 )+R(2) )|R( 3 ) ", f);
        assert_eq!(b, c);
        // Series LC resonance and parallel LC anti-resonance at f0 = 1/(2π√(LC)).
        let (l, cap) = (1e-3f64, 1e-6f64);
        let f0 = 1.0 / (TAU * (l * cap).sqrt());
        let series = z("R(5) + L(1m) + C(1u)", f0);
        assert!(
            (series - Complex64::new(5.0, 0.0)).norm() < 1e-9,
            "{series}"
        );
        let parallel = z("R(5) | L(1m) | C(1u)", f0);
        assert!(
            (parallel - Complex64::new(5.0, 0.0)).norm() < 1e-9,
            "{parallel}"
        );
    }

    #[test]
    fn rational_matches_direct_evaluation() {
        for text in [
            "R(18)",
            "C(1u)",
            "R(18) + L(10u)",
            crate::load::examples::FLAT_PLANAR,
            crate::load::examples::HD600_LIKE,
            crate::load::examples::MULTI_BA,
            "L(1m) | C(1u)",
            "(R(10) + L(1m)) | (R(10) + L(1m)) | C(100n)",
            "R(1) + C(10u) + (L(1m) | (R(3) + C(2u) + L(4m)))",
        ] {
            let net = Network::parse(text).unwrap();
            let rat = net.rational();
            assert!(rat.degree() <= net.reactive_elements(), "{text}");
            let mut worst = 0.0f64;
            for f in crate::analysis::log_frequencies(1.0, 1e6, 6.0) {
                let direct = net.impedance(f);
                let poly = rat.impedance(f);
                worst = worst.max(((poly - direct) / direct).norm());
            }
            println!(
                "{text}: degree {}, worst relative error {worst:e}",
                rat.degree()
            );
            assert!(worst < 1e-10, "{text}: {worst:e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            crate::load::examples::FLAT_PLANAR,
            crate::load::examples::HD600_LIKE,
            crate::load::examples::MULTI_BA,
            "R(1) + (R(2) + R(3)) | R(4)",
            "((R(1)))",
        ] {
            let net = Network::parse(text).unwrap();
            let printed = net.to_string();
            assert_eq!(Network::parse(&printed).unwrap(), net, "{text} → {printed}");
        }
        // Nested groups of the same kind are flattened.
        let a = Network::parse("R(1) + (R(2) + R(3))").unwrap();
        let b = Network::parse("R(1) + R(2) + R(3)").unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn errors_name_the_problem_and_column() {
        let cases: [(&str, &str); 16] = [
            ("", "empty network"),
            ("   ", "empty network"),
            ("R(18", "expected ')' at column 5, found end of input"),
            (
                "(R(1) + L(1m)",
                "expected ')' at column 14, found end of input",
            ),
            ("X(5)", "unknown element 'X' at column 1"),
            ("R(1) + Q(2)", "unknown element 'Q' at column 8"),
            ("R 5", "expected '(' after the element letter at column 3"),
            ("R()", "expected a number at column 3, found ')'"),
            ("R(abc)", "expected a number at column 3, found 'a'"),
            ("R(1.2.3)", "malformed number \"1.2.3\" at column 3"),
            ("R(0)", "R value 0e0 at column 3 must be positive"),
            ("C(-1u)", "C value -1e-6 at column 3 must be positive"),
            ("L(1e999)", "L value inf at column 3 is not finite"),
            ("R(1) R(2)", "unexpected 'R' at column 6"),
            (
                "R(1) +",
                "expected an element (R, L or C) or '(' at column 7",
            ),
            ("R(1e-20)", "is out of range"),
        ];
        for (text, want) in cases {
            let err = Network::parse(text).unwrap_err().to_string();
            assert!(
                err.contains(want),
                "{text:?}: {err:?} does not contain {want:?}"
            );
        }
        // Limits.
        let long = format!("R(1){}", " ".repeat(MAX_CHARS));
        assert!(matches!(
            Network::parse(&long),
            Err(NetworkError::TooLong { .. })
        ));
        let many = vec!["R(1)"; MAX_ELEMENTS + 1].join(" + ");
        let err = Network::parse(&many).unwrap_err();
        assert_eq!(
            err,
            NetworkError::TooManyElements {
                column: MAX_ELEMENTS * 7 + 1
            }
        );
        let reactive = vec!["L(1m)"; MAX_REACTIVE + 1].join("+");
        assert!(matches!(
            Network::parse(&reactive),
            Err(NetworkError::TooManyReactive { .. })
        ));
        let deep = format!("{}R(1){}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            Network::parse(&deep).unwrap_err(),
            NetworkError::TooDeep {
                column: MAX_DEPTH + 1
            }
        );
        // Exactly at the limits is fine.
        assert!(Network::parse(&vec!["R(1)"; MAX_ELEMENTS].join("+")).is_ok());
        let ok_deep = format!("{}R(1){}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Network::parse(&ok_deep).is_ok());
    }

    #[test]
    fn min_max_of_a_resonance() {
        // Parallel RLC peak: |Z| = R at f0; far below and above, |Z| → 0 (the L or C).
        let net = Network::parse("R(0.1) + (R(100) | L(10m) | C(10u))").unwrap();
        let (lo, hi) = net.min_max_ohms(10.0, 20_000.0);
        let f0 = 1.0 / (TAU * (10e-3f64 * 10e-6).sqrt());
        let at_f0 = net.impedance(f0).norm();
        println!("min {lo}, max {hi}, |Z(f0)| {at_f0}");
        assert!((at_f0 - 100.1).abs() < 1e-9);
        assert!(hi <= 100.1 + 1e-9 && hi > 99.0);
        let at_10 = net.impedance(10.0).norm();
        assert!((lo - net.impedance(20_000.0).norm().min(at_10)).abs() < 1e-9);
    }
}
