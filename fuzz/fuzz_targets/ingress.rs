//! (time step, frame) sequences into a whole stack with a listener, an established
//! connection and a UDP socket: see `netstack_fuzz_harness::ingress`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = netstack_fuzz_harness::ingress::run(data) {
        panic!("{e}\n(replay: fuzz-replay ingress FILE --pcap out.pcap)");
    }
});
