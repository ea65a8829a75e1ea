//! Feeds arbitrary bytes to the scenario loader; whatever loads is rendered and
//! evaluated against a response made from the same bytes. Nothing may panic.
//!
//! Run: `cargo +nightly fuzz run load_scenario` (from the repository root).
#![no_main]

use cicada_scenario::{ResponseView, Step, UserState, parse_str};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // No data files: a path that does not exist keeps the target hermetic.
    let Ok(scenario) = parse_str(&text, "fuzz.yaml", Path::new("/nonexistent")) else {
        return;
    };
    let _ = scenario.summary();
    let headers = http::HeaderMap::new();
    let status = data.first().map_or(200, |b| 100 + u16::from(*b) * 2);
    for user in &scenario.user_types {
        let mut state = UserState::new(&scenario, 1);
        let steps = user
            .on_start
            .iter()
            .chain(user.tasks.iter().flat_map(|t| &t.steps))
            .chain(&user.on_stop);
        for step in steps {
            match step {
                Step::Request(r) => {
                    let _ = r.render(&mut state);
                    let response = ResponseView {
                        status,
                        headers: &headers,
                        body: data,
                    };
                    let _ = r.evaluate(&response, &mut state);
                }
                Step::Set(s) => {
                    let _ = s.apply(&mut state);
                }
                Step::Think(w) => {
                    let _ = w.delay(std::time::Duration::from_millis(1), 0.5);
                }
            }
        }
    }
});
