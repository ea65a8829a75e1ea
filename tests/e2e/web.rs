//! The web UI and API of the real `cicada` binary.
//!
//! - [`browser`]: the UI in a real browser: headless Chromium (Debian's `chromium` and
//!   `chromium-driver`) driven over WebDriver by fantoccini, with a screenshot of every tab in
//!   `target/ui-screenshots/` (look at them after a UI change);
//! - [`process`]: UI mode as a process: a port in use, `--autostart` with `-t`, SIGTERM and the
//!   reports, `--html` after a headless run;
//! - [`shape_browser`]: a load shape in the browser: the Shape tab, the live incident note, and
//!   the "shape paused — resume" banner after a Stop by hand.

mod browser;
mod driver;
mod process;
mod shape_browser;
pub(crate) mod support;
