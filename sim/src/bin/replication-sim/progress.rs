//! A progress bar on standard error for long commands, only when standard error is a terminal
//! (nothing at all is drawn into a pipe, a file or a CI log).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// A bar counting `total` units of `what` ("runs", "steps"), or nothing when stderr is no terminal.
pub fn bar(total: u64, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}  {{msg}}  ETA {{eta}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = ProgressBar::new(total).with_style(style);
    // Redrawn on its own, so the elapsed time moves during a long run.
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    Some(bar)
}

/// A spinner counting `what` with no known total, or nothing when stderr is no terminal.
pub fn spinner(what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let style = ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} {{spinner}} {{pos}} {what} {{msg}} ({{per_sec}})"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = ProgressBar::no_length().with_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(250));
    Some(bar)
}
