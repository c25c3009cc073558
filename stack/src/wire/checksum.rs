//! The Internet checksum (RFC 1071): the 16-bit ones' complement of the ones' complement
//! sum of the data taken as big-endian 16-bit words, an odd trailing byte padded with zero.
//!
//! A received header or segment is valid when the checksum computed over it *including*
//! its checksum field is zero (RFC 1071 section 1, step 3).

use core::net::Ipv4Addr;

/// Adds `data` to a running accumulator of big-endian 16-bit words, without folding.
///
/// The bulk of `data` is summed eight bytes at a time as native-endian 32-bit halves
/// into two `u64`s (RFC 1071 section 2: the sum does not depend on the word size once
/// folded (C), and summing in the machine's byte order then swapping the folded result
/// gives the big-endian sum (B)). The tail of fewer than eight bytes is summed as
/// big-endian words, an odd last byte as the high half of a word.
pub fn accumulate(acc: u64, data: &[u8]) -> u64 {
    let mut blocks = data.chunks_exact(16);
    let (mut a, mut b) = (0u64, 0u64);
    for block in &mut blocks {
        let (x, y) = block.split_at(8);
        let x = u64::from_ne_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_ne_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        // Each term is below 2^33, so the sums cannot overflow before 2^30 blocks.
        a += (x & 0xffff_ffff) + (x >> 32);
        b += (y & 0xffff_ffff) + (y >> 32);
    }
    let native = fold(a) as u32 + fold(b) as u32;
    let bulk = u64::from(u16::from_be(fold(u64::from(native))));
    let mut acc = acc + bulk;
    let rest = blocks.remainder();
    let mut words = rest.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

/// `acc` folded to 16 bits with end-around carries (RFC 1071 section 4.1).
fn fold(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// Folds an accumulator to 16 bits and complements it: the value to put on the wire.
pub fn finish(acc: u64) -> u16 {
    !fold(acc)
}

/// Folds an accumulator to 16 bits without complementing it: what a checksum field
/// holds for a link to complete (Linux's `CHECKSUM_PARTIAL`, a virtio-net `NEEDS_CSUM`).
pub fn partial(acc: u64) -> u16 {
    fold(acc)
}

/// The checksum of `data` alone (IPv4 header, ICMP message).
pub fn checksum(data: &[u8]) -> u16 {
    finish(accumulate(0, data))
}

/// The accumulator for the IPv4 pseudo-header used by UDP and TCP (RFC 768, RFC 9293 3.1).
pub fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u64 {
    let mut acc = accumulate(0, &src.octets());
    acc = accumulate(acc, &dst.octets());
    acc + u64::from(protocol) + u64::from(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_worked_example() {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&data), !0xddf2);
    }

    /// The definition, one big-endian 16-bit word at a time.
    fn reference(data: &[u8]) -> u16 {
        let mut acc = 0u64;
        for w in data.chunks(2) {
            acc += u64::from(w[0]) << 8 | u64::from(*w.get(1).unwrap_or(&0));
        }
        finish(acc)
    }

    #[test]
    fn the_fast_sum_matches_the_definition_at_every_length_and_offset() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..700)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for start in 0..17 {
            for end in start..data.len() {
                assert_eq!(checksum(&data[start..end]), reference(&data[start..end]));
            }
        }
        // All ones: the carries wrap around many times.
        let ones = vec![0xff; 4096];
        assert_eq!(checksum(&ones), reference(&ones));
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(
            checksum(&[0x12, 0x34, 0x56]),
            checksum(&[0x12, 0x34, 0x56, 0x00])
        );
    }

    #[test]
    fn data_including_its_checksum_verifies_to_zero() {
        let mut data = vec![
            0x45, 0x00, 0x00, 0x54, 0x12, 0x34, 0x40, 0x00, 0x40, 0x01, 0, 0, 10, 0, 0, 1, 10, 0,
            0, 2,
        ];
        let c = checksum(&data);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&data), 0);
    }
}
