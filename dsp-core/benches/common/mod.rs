//! Helpers shared by the benches.

pub mod block_rows;
