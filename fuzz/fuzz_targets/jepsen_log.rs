#![no_main]

use sim::check::formats::Format;
use zksim_fuzz::{Target, read};

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| read(Target::History(Format::JepsenLog), bytes));
