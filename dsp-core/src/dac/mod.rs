//! The digital-to-analog stage: NOS hold, OS chip filters, R2R ladder, delta-sigma.

pub mod delta_sigma;
pub mod os_filter;
pub mod r2r;
pub mod stage;
