//! Every header parser on arbitrary bytes, with parse-emit-parse round trips: see
//! `netstack_fuzz_harness::wire`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = netstack_fuzz_harness::wire::run(data) {
        panic!("{e}");
    }
});
