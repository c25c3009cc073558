//! A fuzzed peer against one stand-alone TCP connection, with data oracles: see
//! `netstack_fuzz_harness::run` and `oracle`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netstack_fuzz_harness::conversation::Conversation;

fuzz_target!(|conv: Conversation| {
    if let Err(failure) = netstack_fuzz_harness::run::run(&conv) {
        panic!("{failure}\n(replay: fuzz-replay tcp_conversation FILE)");
    }
});
