//! Recording frames to a libpcap file that Wireshark, tshark and tcpdump read.
//!
//! [`Pcap`] wraps a device and records every frame it receives and sends; wrap the
//! device once at start-up when the user asks for a capture. [`PcapFile`] is the file
//! alone, for code that has frames but no device.
//!
//! The file is classic libpcap: magic `a1b2c3d4` (in this machine's byte order, which
//! every reader accepts), version 2.4, link type 1 (Ethernet), snap length 65535,
//! microsecond timestamps from the system clock. Every record is flushed to the OS as
//! it is written, so the file can be read while netstack runs and is complete after
//! Ctrl-C, which ends the process without running destructors.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use crate::device::{Device, Sent, Wrapper};

/// Longest part of a frame stored; longer frames are cut, keeping their real length.
const SNAPLEN: u32 = 65535;

/// A libpcap file being written, one Ethernet frame per record.
#[derive(Debug)]
pub struct PcapFile {
    writer: PcapWriter<Sink>,
    /// The same file as inside `writer`, kept to flush it: `PcapWriter` has no flush.
    sink: Sink,
}

impl PcapFile {
    /// Creates (or truncates) the file at `path` and writes the pcap header.
    ///
    /// # Errors
    ///
    /// If the file cannot be created or written.
    pub fn create(path: impl AsRef<Path>) -> io::Result<PcapFile> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
        })?;
        let sink = Sink(Arc::new(Mutex::new(BufWriter::new(file))));
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::native(),
        };
        let writer = PcapWriter::with_header(sink.clone(), header).map_err(into_io)?;
        let mut file = PcapFile { writer, sink };
        file.sink.flush()?;
        Ok(file)
    }

    /// Appends `frame` as a record stamped `at`, and flushes it to the OS. A frame longer
    /// than 65535 bytes (possible only with an MTU above 65521) is stored cut to that
    /// length, and recorded as that long: pcap-file's reader rejects records whose
    /// original length exceeds the snap length.
    ///
    /// # Errors
    ///
    /// If writing fails (disk full), or `at` is after the year 2106 (pcap's limit).
    pub fn write_frame(&mut self, frame: &[u8], at: SystemTime) -> io::Result<()> {
        // A clock before 1970 is a misconfigured machine; stamp it 0 rather than fail.
        let timestamp = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let stored = &frame[..frame.len().min(SNAPLEN as usize)];
        // At most SNAPLEN, so it fits.
        let len = stored.len() as u32;
        let packet = PcapPacket::new(timestamp, len, stored);
        self.writer.write_packet(&packet).map_err(into_io)?;
        self.sink.flush()
    }
}

/// pcap-file's error as an `io::Error`, keeping the OS error when there is one.
fn into_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

/// A buffered file shared between the `PcapWriter` and `PcapFile`, so that `PcapFile`
/// can flush after each record.
#[derive(Clone, Debug)]
struct Sink(Arc<Mutex<BufWriter<File>>>);

impl Sink {
    fn lock(&self) -> io::Result<std::sync::MutexGuard<'_, BufWriter<File>>> {
        // Poisoned only if a write panicked, which BufWriter<File> does not do.
        self.0
            .lock()
            .map_err(|_| io::Error::other("pcap file lock poisoned"))
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.lock()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock()?.flush()
    }
}

/// A device wrapper that records every frame received and sent to a pcap file.
///
/// If writing the file fails (disk full), capturing stops with one warning in the log
/// and the device keeps working: a capture is a debugging aid, not worth losing the
/// link over. [`capture_error`](Self::capture_error) reports it.
#[derive(Debug)]
pub struct Pcap<D> {
    inner: D,
    file: PcapFile,
    error: Option<io::Error>,
}

impl<D: Device> Pcap<D> {
    /// Wraps `inner`, creating (or truncating) the capture file at `path`.
    ///
    /// # Errors
    ///
    /// If the file cannot be created or its header written.
    pub fn new(inner: D, path: impl AsRef<Path>) -> io::Result<Pcap<D>> {
        Ok(Pcap {
            inner,
            file: PcapFile::create(path)?,
            error: None,
        })
    }

    /// Why capturing stopped, if it did.
    pub fn capture_error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    fn record(&mut self, frame: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.file.write_frame(frame, SystemTime::now()) {
            log::warn!("pcap capture on {} stopped: {e}", self.inner.name());
            self.error = Some(e);
        }
    }
}

impl<D: Device> Wrapper for Pcap<D> {
    type Inner = D;

    fn inner(&self) -> &D {
        &self.inner
    }

    fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    fn send_through(&mut self, frame: &[u8]) -> io::Result<()> {
        // Record after sending: a frame the device refused is not in the capture.
        self.inner.send(frame)?;
        self.record(frame);
        Ok(())
    }

    fn try_send_through(&mut self, frame: &[u8]) -> io::Result<Sent> {
        // A frame handed back is recorded when it is offered again and taken.
        let sent = self.inner.try_send(frame)?;
        if sent == Sent::Taken {
            self.record(frame);
        }
        Ok(sent)
    }

    fn received(&mut self, frame: &[u8]) {
        self.record(frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory;
    use pcap_file::pcap::PcapReader;
    use std::path::PathBuf;
    use std::time::Duration;

    /// A fresh path in the temp directory, removed when dropped.
    struct TempPath(PathBuf);

    impl TempPath {
        fn new(test: &str) -> TempPath {
            let name = format!("netstack-drivers-{}-{test}.pcap", std::process::id());
            TempPath(std::env::temp_dir().join(name))
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn frame(fill: u8, len: usize) -> Vec<u8> {
        let mut f = vec![fill; len];
        f[12..14].copy_from_slice(&[0x08, 0x06]); // EtherType ARP
        f
    }

    /// Reads the whole capture: header and (timestamp, data, orig_len) per record.
    fn read_back(path: &Path) -> (PcapHeader, Vec<(Duration, Vec<u8>, u32)>) {
        let mut reader = PcapReader::new(File::open(path).unwrap()).unwrap();
        let header = reader.header();
        let mut records = Vec::new();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.unwrap();
            records.push((packet.timestamp, packet.data.to_vec(), packet.orig_len));
        }
        (header, records)
    }

    #[test]
    fn records_sent_and_received_frames_readable_while_running() {
        let path = TempPath::new("both-ways");
        let (a, mut b) = memory::link(1500).unwrap();
        let mut a = Pcap::new(a, &path.0).unwrap();
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();

        a.send(&frame(0xaa, 60)).unwrap();
        let mut buf = [0u8; 1518];
        assert_eq!(b.recv(&mut buf).unwrap(), Some(60));
        b.send(&frame(0xbb, 1514)).unwrap();
        assert_eq!(a.recv(&mut buf).unwrap(), Some(1514));
        assert_eq!(a.recv(&mut buf).unwrap(), None);
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();

        // Read while `a` is still open: every record is already flushed.
        let (header, records) = read_back(&path.0);
        assert_eq!(header.datalink, DataLink::ETHERNET);
        assert_eq!(header.ts_resolution, TsResolution::MicroSecond);
        assert_eq!((header.version_major, header.version_minor), (2, 4));
        assert_eq!(header.snaplen, 65535);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].1, frame(0xaa, 60));
        assert_eq!(records[0].2, 60);
        assert_eq!(records[1].1, frame(0xbb, 1514));
        for (timestamp, _, _) in &records {
            // Microsecond resolution: the stamp is the clock truncated to whole µs.
            assert_eq!(timestamp.subsec_nanos() % 1000, 0);
            let before_us = Duration::from_micros(before.as_micros() as u64);
            assert!(
                before_us <= *timestamp && *timestamp <= after,
                "{timestamp:?}"
            );
        }
        assert!(a.capture_error().is_none());

        // The standard magic number, in this machine's byte order.
        let bytes = std::fs::read(&path.0).unwrap();
        assert_eq!(
            u32::from_ne_bytes(bytes[..4].try_into().unwrap()),
            0xa1b2_c3d4
        );
        assert_eq!(bytes.len(), 24 + (16 + 60) + (16 + 1514));
    }

    #[test]
    fn frames_beyond_the_snap_length_are_cut() {
        let path = TempPath::new("snaplen");
        let mut file = PcapFile::create(&path.0).unwrap();
        file.write_frame(&vec![7; 70_000], SystemTime::now())
            .unwrap();
        file.write_frame(&[], UNIX_EPOCH - Duration::from_secs(1))
            .unwrap();
        let (_, records) = read_back(&path.0);
        assert_eq!(records[0].1.len(), 65535);
        assert_eq!(records[0].2, 65535);
        assert_eq!(records[1], (Duration::ZERO, vec![], 0));
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let (a, _b) = memory::link(1500).unwrap();
        let e = Pcap::new(a, "/nonexistent-dir/x.pcap").unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir/x.pcap"), "{e}");
    }
}
