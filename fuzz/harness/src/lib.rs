//! What netstack's fuzz targets share, so the libFuzzer targets, the `fuzz-coverage` and
//! `fuzz-replay` commands and plain `cargo test` all run the same code:
//!
//! - [`bytes`]: the byte format inputs are written in (decoded and encoded);
//! - [`conversation`], [`peer`], [`oracle`], [`run`]: the `tcp_conversation` target: a
//!   fuzzed peer against one stand-alone `Connection`, with data oracles;
//! - [`transitions`]: RFC 9293's state diagram, legality, coverage;
//! - [`ingress`], [`pair`], [`wire`], [`differential`]: the other targets;
//! - [`trace`]: readable traces and pcaps; [`seeds`]: the synthesized seed corpus;
//!   [`capture`]: seeds from captures of real traffic.
#![forbid(unsafe_code)]

pub mod bytes;
pub mod capture;
pub mod conversation;
pub mod differential;
pub mod ingress;
pub mod oracle;
pub mod pair;
pub mod peer;
pub mod replay;
pub mod run;
pub mod seeds;
pub mod smol;
pub mod trace;
pub mod transitions;
pub mod wire;
