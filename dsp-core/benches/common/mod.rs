//! Helpers shared by the benches.

pub mod block_rows;
pub mod turns;
