//! SHA-256 for checking the server's `/sha256` answers. The test computes it with the
//! `sha2` crate over the bytes it sent; what is under test is netstack's streaming of the
//! body (Content-Length, chunked, 100-continue), not the hash function.

use sha2::{Digest, Sha256};

/// The lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
