//! Two stacks on an impaired virtual wire, with end-to-end integrity and clean
//! termination as the oracles: see `netstack_fuzz_harness::pair`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = netstack_fuzz_harness::pair::run(data) {
        panic!("{e}\n(replay: fuzz-replay pair FILE --pcap out.pcap)");
    }
});
