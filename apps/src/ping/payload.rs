//! The data carried by our echo requests, laid out as iputils lays out its own: byte `i`
//! holds `i mod 256`, and when there is room, the first 16 bytes hold the send time as a
//! `struct timeval` (seconds, then microseconds, 8 bytes each). The timestamp is for
//! whoever reads a capture; round-trip times come from the runtime's monotonic clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes taken by the timestamp at the start of the data.
pub const TIMESTAMP_LEN: usize = 16;

/// `size` bytes of echo data: the fill pattern, with the time of day stamped over the
/// first 16 bytes when `size` allows (iputils prints times only then; so do we).
pub fn build(size: usize, now: SystemTime) -> Vec<u8> {
    let mut data: Vec<u8> = (0..size).map(|i| i as u8).collect();
    if size >= TIMESTAMP_LEN {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        data[..8].copy_from_slice(&since_epoch.as_secs().to_le_bytes());
        data[8..16].copy_from_slice(&u64::from(since_epoch.subsec_micros()).to_le_bytes());
    }
    data
}

/// A reply's data differs from the pattern we sent: iputils' "wrong data byte" report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrongByte {
    /// Offset in the data.
    pub index: usize,
    /// What we sent there.
    pub expected: u8,
    /// What came back.
    pub actual: u8,
}

/// Checks the pattern after the timestamp, over the first `size` bytes, as iputils
/// does; the timestamp area itself is not checked.
pub fn check(size: usize, reply: &[u8]) -> Option<WrongByte> {
    (TIMESTAMP_LEN..size.min(reply.len())).find_map(|index| {
        let expected = index as u8;
        let actual = reply[index];
        (actual != expected).then_some(WrongByte {
            index,
            expected,
            actual,
        })
    })
}

/// iputils' report of a mismatch: the first wrong byte, then the received data from
/// offset 16 in hex, 32 bytes per row, each row led by its offset.
pub fn describe_mismatch(wrong: &WrongByte, size: usize, reply: &[u8]) -> String {
    let mut s = format!(
        "\nwrong data byte #{} should be 0x{:x} but was 0x{:x}",
        wrong.index, wrong.expected, wrong.actual
    );
    for (index, byte) in reply.iter().enumerate().take(size).skip(TIMESTAMP_LEN) {
        if index % 32 == TIMESTAMP_LEN {
            s.push_str(&format!("\n#{index}\t"));
        }
        s.push_str(&format!("{byte:x} "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pattern_follows_the_timestamp() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000);
        let data = build(56, t);
        assert_eq!(data.len(), 56);
        assert_eq!(&data[..8], &1_700_000_000u64.to_le_bytes());
        assert_eq!(&data[8..16], &123_456u64.to_le_bytes());
        assert_eq!(&data[16..20], &[0x10, 0x11, 0x12, 0x13]);
        assert_eq!(data[55], 55);
        assert_eq!(check(56, &data), None);
    }

    #[test]
    fn short_data_is_all_pattern() {
        assert_eq!(build(4, SystemTime::now()), vec![0, 1, 2, 3]);
        assert_eq!(check(4, &[9, 9, 9, 9]), None);
    }

    #[test]
    fn the_first_wrong_byte_is_reported() {
        let mut data = build(300, SystemTime::now());
        data[40] = 0xff;
        data[41] = 0xee;
        let wrong = check(300, &data).expect("byte 40 was changed");
        assert_eq!(
            wrong,
            WrongByte {
                index: 40,
                expected: 40,
                actual: 0xff
            }
        );
        let text = describe_mismatch(&wrong, 300, &data);
        assert!(
            text.starts_with("\nwrong data byte #40 should be 0x28 but was 0xff\n#16\t10 11 "),
            "{text}"
        );
        assert!(text.contains("\n#48\t30 31 "), "{text}");
        // Wraps at 256: byte 256 is 0x00 again.
        assert_eq!(check(300, &build(300, SystemTime::now())), None);
    }
}
