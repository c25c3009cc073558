//! TCP (RFC 9293), one job per file:
//!
//! - [`seq`]: sequence numbers with wrap-around comparison.
pub mod seq;
