//! Enumerated settings as types: every value, its label (written once) and its index in
//! the parameter that selects it.
//!
//! A parameter of enumeration kind carries its index as a plain value (what an LV2
//! control port holds, see [`crate::params`]); [`Choice`] turns it into the typed value and
//! back. [`choice!`](crate::choice!) declares an enum with its labels in one place.

/// An enumerated setting: the values in parameter order, each with its label.
pub trait Choice: Copy + PartialEq + Sized + 'static {
    /// Every value, in parameter order.
    const ALL: &'static [Self];
    /// The label of each value of [`Choice::ALL`], in the same order.
    const LABELS: &'static [&'static str];

    /// Position in [`Choice::ALL`].
    fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|v| *v == self)
            .expect("every value is listed in ALL")
    }

    /// The value at `index`; indices past the end give the last value (parameter values
    /// are clamped into range before they get here, so this only guards the type).
    fn from_index(index: usize) -> Self {
        Self::ALL[index.min(Self::ALL.len() - 1)]
    }

    /// This value's label.
    fn label(self) -> &'static str {
        Self::LABELS[self.index()]
    }

    /// The value whose label is `label` (exact match).
    fn from_label(label: &str) -> Option<Self> {
        Self::LABELS
            .iter()
            .position(|l| *l == label)
            .map(|i| Self::ALL[i])
    }
}

/// Declare a fieldless enum and its [`Choice`] implementation, each variant with its label
/// (the enum also gets `ALL`, `LABELS`, `index`, `from_index` and `label` of its own, so
/// callers need not import the trait):
///
/// ```
/// sourcery_dsp::choice! {
///     /// Which way round.
///     pub enum Side { Left = "L", Right = "R" }
/// }
/// use sourcery_dsp::choice::Choice;
/// assert_eq!(Side::from_label("R"), Some(Side::Right));
/// assert_eq!(Side::Right.index(), 1);
/// ```
#[macro_export]
macro_rules! choice {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $label:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in parameter order.
            pub const ALL: &'static [Self] = &[ $( $name::$variant ),+ ];
            /// The label of each value of `ALL`, in the same order.
            pub const LABELS: &'static [&'static str] = &[ $( $label ),+ ];

            /// Position in `ALL`.
            pub const fn index(self) -> usize {
                self as usize
            }

            /// The value at `index` (past the end: the last one).
            pub fn from_index(index: usize) -> Self {
                <Self as $crate::choice::Choice>::from_index(index)
            }

            /// This value's label.
            pub fn label(self) -> &'static str {
                Self::LABELS[self as usize]
            }
        }

        impl $crate::choice::Choice for $name {
            const ALL: &'static [Self] = $name::ALL;
            const LABELS: &'static [&'static str] = $name::LABELS;

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::choice! {
        /// A test enumeration.
        enum Colour { Red = "red", Green = "green", Blue = "blue" }
    }

    #[test]
    fn index_label_and_back() {
        for (i, c) in Colour::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(Colour::from_index(i), *c);
            assert_eq!(Colour::from_label(c.label()), Some(*c));
        }
        assert_eq!(Colour::LABELS, ["red", "green", "blue"]);
        assert_eq!(Colour::from_index(99), Colour::Blue);
        assert_eq!(Colour::from_label("mauve"), None);
    }
}
