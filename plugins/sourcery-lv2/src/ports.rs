//! The port layout of both plugins: the one place that maps a port to its index.
//!
//! The TTL generator ([`crate::ttl`]) and the runtime (`connect_port`) both go through
//! [`port_index`] / [`Variant::port`], so the index a host reads from the TTL is the index
//! the binary expects. Layout, for a plugin with `C` audio channels and `P` parameters:
//!
//! | indices           | ports                                            |
//! |-------------------|--------------------------------------------------|
//! | `0..C`            | audio inputs (`in_l`, `in_r` or `in`)            |
//! | `C..2C`           | audio outputs (`out_l`, `out_r` or `out`)        |
//! | `2C..2C+P`        | one control input per [`PARAMS`] row, in order   |
//! | `2C+P`            | control output `latency` (samples)               |
//! | `2C+P+1`          | control input `freewheel` (`lv2:freeWheeling`)   |
//!
//! Pure Rust: nothing here touches `lv2-sys`, so the xtask can generate TTL without loading
//! the plugin.

use sourcery_dsp::PARAMS;

/// The plugin URIs, defined once in `sourcery_dsp` (which writes user preset bundles
/// without this crate).
pub use sourcery_dsp::presets::lv2::{URI_MONO, URI_STEREO};

/// Symbol of the latency control output port.
pub const LATENCY_SYMBOL: &str = "latency";

/// Symbol of the freewheeling control input port (the host sets it to 1 while it renders
/// faster than real time).
pub const FREEWHEEL_SYMBOL: &str = "freewheel";

/// One of the two plugins in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Two channels in, two out; `lv2_descriptor(0)`.
    Stereo,
    /// One channel in, one out; `lv2_descriptor(1)`.
    Mono,
}

impl Variant {
    /// Both plugins, in descriptor-index order.
    pub const ALL: [Variant; 2] = [Variant::Stereo, Variant::Mono];

    /// The plugin's URI.
    pub const fn uri(self) -> &'static str {
        match self {
            Variant::Stereo => URI_STEREO,
            Variant::Mono => URI_MONO,
        }
    }

    /// The name hosts show (`doap:name`).
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Stereo => "Sourcery",
            Variant::Mono => "Sourcery (mono)",
        }
    }

    /// Number of audio channels (inputs, and equally outputs).
    pub const fn channels(self) -> usize {
        match self {
            Variant::Stereo => 2,
            Variant::Mono => 1,
        }
    }

    /// Symbols of the audio input ports, in channel order.
    pub const fn audio_in_symbols(self) -> &'static [&'static str] {
        match self {
            Variant::Stereo => &["in_l", "in_r"],
            Variant::Mono => &["in"],
        }
    }

    /// Symbols of the audio output ports, in channel order.
    pub const fn audio_out_symbols(self) -> &'static [&'static str] {
        match self {
            Variant::Stereo => &["out_l", "out_r"],
            Variant::Mono => &["out"],
        }
    }

    /// Total number of ports.
    pub const fn port_count(self) -> u32 {
        (2 * self.channels() + PARAMS.len() + 2) as u32
    }

    /// The port at `index`, or `None` past the last port. The inverse of [`port_index`].
    pub const fn port(self, index: u32) -> Option<Port> {
        let index = index as usize;
        let channels = self.channels();
        if index < channels {
            Some(Port::AudioIn(index))
        } else if index < 2 * channels {
            Some(Port::AudioOut(index - channels))
        } else if index < 2 * channels + PARAMS.len() {
            Some(Port::Control(index - 2 * channels))
        } else if index == 2 * channels + PARAMS.len() {
            Some(Port::Latency)
        } else if index == 2 * channels + PARAMS.len() + 1 {
            Some(Port::Freewheel)
        } else {
            None
        }
    }

    /// Every port, in index order.
    pub fn ports(self) -> impl Iterator<Item = Port> {
        (0..self.port_count()).filter_map(move |i| self.port(i))
    }
}

/// A port of either plugin, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    /// Audio input for a channel (0 = left or mono, 1 = right).
    AudioIn(usize),
    /// Audio output for a channel.
    AudioOut(usize),
    /// Control input for the parameter at this row of [`PARAMS`].
    Control(usize),
    /// Control output reporting the latency in samples.
    Latency,
    /// Control input the host sets to 1 while freewheeling (offline rendering).
    Freewheel,
}

impl Port {
    /// The port's `lv2:symbol`.
    ///
    /// # Panics
    /// When the channel or parameter index does not exist for `variant`.
    pub fn symbol(self, variant: Variant) -> &'static str {
        match self {
            Port::AudioIn(ch) => variant.audio_in_symbols()[ch],
            Port::AudioOut(ch) => variant.audio_out_symbols()[ch],
            Port::Control(row) => PARAMS[row].id,
            Port::Latency => LATENCY_SYMBOL,
            Port::Freewheel => FREEWHEEL_SYMBOL,
        }
    }
}

/// Index of `port` in `variant`'s port list: the `lv2:index` in the TTL and the `port`
/// argument of `connect_port`. The single source of truth for the layout (see the module
/// docs).
///
/// # Panics
/// When the channel or parameter index does not exist for `variant`.
pub const fn port_index(variant: Variant, port: Port) -> u32 {
    let channels = variant.channels();
    let index = match port {
        Port::AudioIn(ch) => {
            assert!(ch < channels, "no such audio input");
            ch
        }
        Port::AudioOut(ch) => {
            assert!(ch < channels, "no such audio output");
            channels + ch
        }
        Port::Control(row) => {
            assert!(row < PARAMS.len(), "no such parameter");
            2 * channels + row
        }
        Port::Latency => 2 * channels + PARAMS.len(),
        Port::Freewheel => 2 * channels + PARAMS.len() + 1,
    };
    index as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_index_and_port_are_inverse() {
        for variant in Variant::ALL {
            let ports: Vec<Port> = variant.ports().collect();
            assert_eq!(ports.len() as u32, variant.port_count());
            for (i, port) in ports.iter().enumerate() {
                assert_eq!(port_index(variant, *port), i as u32);
                assert_eq!(variant.port(i as u32), Some(*port));
            }
            assert_eq!(variant.port(variant.port_count()), None);
            assert_eq!(variant.port(u32::MAX), None);
        }
    }

    #[test]
    fn layout_is_audio_then_controls_then_latency_and_freewheel() {
        let v = Variant::Stereo;
        let symbols: Vec<&str> = v.ports().map(|p| p.symbol(v)).collect();
        assert_eq!(&symbols[..4], &["in_l", "in_r", "out_l", "out_r"]);
        assert_eq!(&symbols[symbols.len() - 2..], &["latency", "freewheel"]);
        let ids: Vec<&str> = PARAMS.iter().map(|p| p.id).collect();
        assert_eq!(&symbols[4..symbols.len() - 2], &ids[..]);

        let m = Variant::Mono;
        let symbols: Vec<&str> = m.ports().map(|p| p.symbol(m)).collect();
        assert_eq!(&symbols[..2], &["in", "out"]);
        assert_eq!(&symbols[2..symbols.len() - 2], &ids[..]);
    }

    #[test]
    fn symbols_are_unique() {
        for v in Variant::ALL {
            let symbols: Vec<&str> = v.ports().map(|p| p.symbol(v)).collect();
            for (i, s) in symbols.iter().enumerate() {
                assert!(!symbols[i + 1..].contains(s), "duplicate symbol {s}");
            }
        }
    }
}
