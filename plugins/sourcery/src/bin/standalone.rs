//! Sourcery as a standalone application (`--features standalone`): the editor in its own
//! window, audio through JACK, ALSA or the dummy backend (`--backend dummy`).

fn main() {
    nice_plug::prelude::nice_export_standalone::<sourcery::Sourcery>();
}
