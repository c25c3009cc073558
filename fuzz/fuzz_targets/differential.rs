//! The same fuzzed peer against our TCP and smoltcp's; divergences outside the
//! documented allow-list fail: see `netstack_fuzz_harness::differential`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netstack_fuzz_harness::conversation::Conversation;

fuzz_target!(|conv: Conversation| {
    if let Err(e) = netstack_fuzz_harness::differential::run(&conv) {
        panic!("{e}\n(replay: fuzz-replay differential FILE)");
    }
});
