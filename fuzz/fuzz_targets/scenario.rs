#![no_main]

use zksim_fuzz::{Target, read};

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| read(Target::Scenario, bytes));
