//! Where the stack's random seed comes from.
//!
//! The stack is deterministic given its seed (see `netstack_core::rng`), and will derive secrets
//! from it (RFC 6528 ISNs, RFC 6056 ports), so a normal run seeds it from the OS's entropy
//! and a reproducible run (`--seed N`) from a fixed value.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;

/// Eight bytes from `/dev/urandom`.
///
/// Fallback, if the device cannot be read (a minimal container or chroot): std's
/// `RandomState`, whose SipHash keys std itself draws from the OS (getrandom), hashed
/// together with the time and the process id. That is still unpredictable to a peer, just
/// not by a route we control; a warning is logged when it happens.
pub fn from_os() -> u64 {
    match read_urandom() {
        Ok(seed) => seed,
        Err(err) => {
            log::warn!("cannot read /dev/urandom ({err}); seeding from std's RandomState");
            fallback()
        }
    }
}

fn read_urandom() -> std::io::Result<u64> {
    let mut bytes = [0u8; 8];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(u64::from_ne_bytes(bytes))
}

fn fallback() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    if let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(since_epoch.as_nanos());
    }
    hasher.write_u32(std::process::id());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_draws_differ() {
        // 2^-64 chance of a false failure.
        assert_ne!(from_os(), from_os());
        assert_ne!(fallback(), fallback());
    }
}
