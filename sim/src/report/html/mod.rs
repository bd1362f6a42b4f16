//! The HTML report: one self-contained page per run (inline CSS, inline SVG, a few lines of script;
//! nothing fetched from the network), readable on screen and printed in black and white.
//!
//! The page, top to bottom: the result and counts; the timeline picture (`timeline.rs`: a lane per
//! cluster and kind, bands for modes, arrows for activations and update-primary, markers for
//! promotions, demotions, wipes, losses, hazards, broken invariants and failed expectations, each
//! linking to its step); the final topology picture (`topology.rs`); the step table with full
//! outcomes; the final status; the findings.
//!
//! Elements the pictures are made of carry `data-*` attributes (lane, mode, step, mark), so tests and
//! tools can read the picture's structure without parsing geometry.

mod timeline;
mod topology;

use super::Report;
use std::fmt::Write as _;

/// The page for one run.
pub fn page(report: &Report) -> String {
    let mut s = String::new();
    let result = if report.passed() { "PASS" } else { "FAIL" };
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{} ({result})</title>\n<style>\n{STYLE}</style>\n</head>\n<body data-ready=\"no\">\n",
        esc(&report.name)
    );
    header(&mut s, report, result);
    let _ = writeln!(
        s,
        "<section id=\"timeline\">\n<h2>Timeline</h2>\n<p class=\"hint\">One lane per cluster and kind, one column per step. Point at a marker for what happened; click it to go to its step.</p>\n<div id=\"detail\" aria-live=\"polite\">&nbsp;</div>\n<div class=\"picture\">"
    );
    s.push_str(&timeline::svg(report));
    let _ = writeln!(s, "</div>");
    s.push_str(timeline::LEGEND);
    let _ = writeln!(
        s,
        "</section>\n<section id=\"topology\">\n<h2>Final topology</h2>\n<div class=\"picture\">"
    );
    s.push_str(&topology::svg(report));
    let _ = writeln!(s, "</div>\n</section>");
    steps(&mut s, report);
    final_status(&mut s, report);
    findings(&mut s, report);
    let _ = writeln!(s, "<script>\n{SCRIPT}</script>\n</body>\n</html>");
    s
}

/// A row of the index page.
pub enum IndexEntry<'a> {
    /// A scenario that ran, and the page written for it.
    Page {
        /// The scenario file.
        file: String,
        /// The page's file name, relative to the index.
        page: String,
        /// Its report.
        report: &'a Report,
    },
    /// A file that could not be used.
    Unusable {
        /// The file.
        file: String,
        /// Why.
        error: String,
    },
}

/// The index page of a folder of pages: one row per scenario file.
pub fn index(entries: &[IndexEntry<'_>]) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>replication-sim: {} scenario(s)</title>\n<style>\n{STYLE}</style>\n</head>\n<body data-ready=\"ok\">\n<h1>{} scenario(s)</h1>\n<table class=\"steps\">\n<thead><tr><th>scenario</th><th>file</th><th>result</th><th>steps</th><th>losses</th><th>hazards</th><th>failed</th></tr></thead>\n<tbody>\n",
        entries.len(),
        entries.len()
    );
    for e in entries {
        match e {
            IndexEntry::Page { file, page, report } => {
                let result = if report.passed() { "PASS" } else { "FAIL" };
                let _ = writeln!(
                    s,
                    "<tr data-result=\"{result}\"><td><a href=\"{}\">{}</a></td><td>{}</td><td class=\"{}\">{result}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&url_segment(page)),
                    esc(&report.name),
                    esc(file),
                    result.to_lowercase(),
                    report.steps.len(),
                    report.losses.len(),
                    report.hazards.len(),
                    report.failures.len() + report.violations.len()
                );
            }
            IndexEntry::Unusable { file, error } => {
                let _ = writeln!(
                    s,
                    "<tr data-result=\"unusable\"><td>-</td><td>{}</td><td class=\"fail\">UNUSABLE</td><td colspan=\"4\">{}</td></tr>",
                    esc(file),
                    esc(error)
                );
            }
        }
    }
    s.push_str("</tbody>\n</table>\n</body>\n</html>\n");
    s
}

fn header(s: &mut String, r: &Report, result: &str) {
    let _ = writeln!(
        s,
        "<header>\n<h1>{}</h1>\n<p class=\"result {}\" data-result=\"{result}\">{result}</p>",
        esc(&r.name),
        result.to_lowercase()
    );
    let _ = writeln!(
        s,
        "<p class=\"meta\">{}seed {}</p>",
        r.file
            .as_ref()
            .map(|f| format!("{} &middot; ", esc(f)))
            .unwrap_or_default(),
        r.seed
    );
    if let Some(d) = &r.description {
        let _ = writeln!(s, "<p class=\"description\">{}</p>", esc(d));
    }
    let causes: Vec<String> = r
        .by_cause
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    let _ = writeln!(
        s,
        "<table class=\"counts\">\n<tr><th>steps</th><td>{}</td></tr>\n<tr><th>losses</th><td>{}{}</td></tr>\n<tr><th>unknown outcomes</th><td>{}</td></tr>\n<tr><th>hazards</th><td>{}</td></tr>\n<tr><th>invariants</th><td>{}</td></tr>\n<tr><th>expectations</th><td>{} checked, {} failed</td></tr>\n</table>\n</header>",
        r.steps.len(),
        r.losses.len(),
        if causes.is_empty() {
            String::new()
        } else {
            format!(" ({})", esc(&causes.join(", ")))
        },
        r.unknown_writes,
        r.hazards.len(),
        if r.violations.is_empty() {
            "all held".to_string()
        } else {
            format!("{} violated", r.violations.len())
        },
        r.expectations,
        r.failures.len()
    );
}

fn steps(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "<section id=\"steps\">\n<h2>Steps</h2>\n<table class=\"steps\">\n<thead><tr><th>step</th><th>verb</th><th>target</th><th>outcome</th><th>changes</th></tr></thead>\n<tbody>"
    );
    for l in &r.steps {
        let failed = r.failures.iter().any(|f| f.step == l.step);
        let _ = writeln!(
            s,
            "<tr id=\"step-{}\" data-step=\"{}\"{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            l.step,
            l.step,
            if failed { " class=\"failed\"" } else { "" },
            l.step,
            esc(&l.verb),
            esc(&l.target),
            esc(&l.outcome),
            if l.changes.is_empty() {
                "-".to_string()
            } else {
                l.changes.iter().map(|c| esc(c)).collect::<Vec<_>>().join("<br>")
            },
            l.note
                .as_ref()
                .map(|n| format!("<div class=\"note\">{}</div>", esc(n)))
                .unwrap_or_default()
        );
    }
    let end = r.timeline.last_step + 1;
    let _ = writeln!(
        s,
        "<tr id=\"step-{end}\" data-step=\"{end}\"><td>end</td><td>heal, converge</td><td>every cluster</td><td>{}</td><td>-</td></tr>\n</tbody>\n</table>\n</section>",
        esc(r.convergence.as_deref().map_or("convergence checked", |c| c))
    );
}

fn final_status(s: &mut String, r: &Report) {
    let _ = writeln!(
        s,
        "<section id=\"final\">\n<h2>Final status</h2>\n<table class=\"steps\">\n<thead><tr><th>cluster</th><th>kind</th><th>mode</th><th>state</th><th title=\"the replication set's cluster_id\">set</th><th title=\"the last WAL index of the kind\">last WAL</th><th title=\"the Merkle root of the data the kind replicates\">Merkle root</th><th title=\"stored entries, the mount table included\">keys</th><th>running</th></tr></thead>\n<tbody>"
    );
    for c in &r.clusters {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"id\">{}</td><td>{}</td><td class=\"id\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.cluster),
            c.kind.as_str(),
            esc(&c.mode),
            esc(if c.state.is_empty() { "-" } else { &c.state }),
            esc(if c.cluster_id.is_empty() { "-" } else { &c.cluster_id }),
            c.last_wal,
            esc(if c.merkle_root.is_empty() { "-" } else { &c.merkle_root }),
            c.keys,
            if c.up { "yes" } else { "crashed" }
        );
    }
    let _ = writeln!(s, "</tbody>\n</table>\n</section>");
}

fn findings(s: &mut String, r: &Report) {
    let _ = writeln!(s, "<section id=\"findings\">\n<h2>Findings</h2>");
    let mut list = |title: &str, items: Vec<(usize, String)>| {
        let _ = writeln!(s, "<h3>{title} ({})</h3>", items.len());
        if items.is_empty() {
            let _ = writeln!(s, "<p>none</p>");
            return;
        }
        let _ = writeln!(s, "<ul>");
        for (step, text) in items {
            let _ = writeln!(
                s,
                "<li><a href=\"#step-{step}\">step {step}</a>: {}</li>",
                esc(&text)
            );
        }
        let _ = writeln!(s, "</ul>");
    };
    list(
        "Losses",
        r.losses
            .iter()
            .map(|l| {
                (
                    l.step,
                    format!(
                        "{}={:?} written at step {} lost: {}",
                        l.path, l.value, l.written_at, l.cause
                    ),
                )
            })
            .collect(),
    );
    list(
        "Hazards",
        r.hazards
            .iter()
            .map(|h| {
                (
                    h.step,
                    format!(
                        "{} ({} set {}: {})",
                        h.kind,
                        h.replication,
                        h.cluster_id,
                        h.clusters.join(", ")
                    ),
                )
            })
            .collect(),
    );
    let end = r.timeline.last_step + 1;
    list(
        "Broken invariants",
        r.timeline
            .marks
            .iter()
            .filter_map(|m| match &m.mark {
                super::timeline::Mark::Violation { rule, text } => {
                    Some((m.step.min(end), format!("{rule}: {text}")))
                }
                _ => None,
            })
            .collect(),
    );
    list(
        "Failed expectations",
        r.failures
            .iter()
            .map(|f| (f.step, format!("expected {}; got {}", f.expected, f.actual)))
            .collect(),
    );
    let _ = writeln!(s, "</section>");
}

/// `name` as one segment of a relative URL: bytes other than letters, digits and `-_.~` are
/// percent-encoded (a `#`, `?` or `%` in a file name would otherwise break the link).
fn url_segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `text` safe inside HTML text and double-quoted attributes.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Screen colours, print in black and white: the pictures tell modes apart by pattern and label as
/// well as by colour.
const STYLE: &str = r#"body { font-family: system-ui, sans-serif; margin: 1.5em; color: #111; }
h1 { margin: 0 0 .2em 0; font-size: 1.5em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #999; }
.result { display: inline-block; font-weight: bold; padding: .1em .6em; border: 2px solid; }
.result.pass { color: #0a6b2d; }
.result.fail { color: #a40e0e; }
.meta, .hint { color: #444; }
.description { max-width: 60em; }
table.counts th { text-align: left; padding-right: 1em; font-weight: normal; color: #444; }
table.steps { border-collapse: collapse; font-size: .9em; }
table.steps th, table.steps td { border: 1px solid #bbb; padding: .2em .4em; vertical-align: top; text-align: left; }
table.steps td:nth-child(3), table.steps td:nth-child(4) { word-break: break-word; max-width: 32em; }
tr.failed td { border-left: 4px double #a40e0e; font-weight: bold; }
tr:target td, tr.shown td { background: #fff3b0; }
td.pass { color: #0a6b2d; font-weight: bold; }
td.fail { color: #a40e0e; font-weight: bold; }
.id { font-family: ui-monospace, monospace; font-size: .85em; }
.note { color: #444; font-style: italic; }
.picture { overflow-x: auto; border: 1px solid #ccc; padding: .5em; }
#detail { min-height: 1.4em; font-family: ui-monospace, monospace; padding: .2em .4em; border-left: 4px solid #999; margin-bottom: .4em; }
.legend { font-size: .85em; color: #333; display: flex; flex-wrap: wrap; gap: .2em 1.4em; max-width: 70em; }
svg text { font-family: system-ui, sans-serif; }
svg a .mark:hover { stroke-width: 3; }
@media print {
  body { margin: 0; color: #000; }
  .picture { overflow: visible; border: none; }
  .picture svg { max-width: 100%; height: auto; }
  #detail, .hint { display: none; }
  a { color: #000; text-decoration: none; }
  tr:target td, tr.shown td { background: none; }
}
"#;

/// Pointing at or clicking a marker shows what happened and its step in the detail line (and clicking
/// goes to the step's row); so does opening the page at `#step-N`. `data-ready` says the script ran
/// to the end (the headless-browser check reads it).
const SCRIPT: &str = r#"(function () {
  var detail = document.getElementById('detail');
  function show(el) {
    var row = document.getElementById('step-' + el.getAttribute('data-step'));
    var shown = document.querySelector('tr.shown');
    if (shown) { shown.classList.remove('shown'); }
    var what = el.getAttribute('data-what') || '';
    var step = row ? Array.prototype.map.call(row.cells, function (c) { return c.textContent; }).slice(0, 4).join(' | ') : '';
    detail.textContent = what + (step ? '  [' + step + ']' : '');
    if (row) { row.classList.add('shown'); }
  }
  var marks = document.querySelectorAll('[data-what]');
  Array.prototype.forEach.call(marks, function (el) {
    el.addEventListener('mouseenter', function () { show(el); });
    var link = el.closest('a');
    if (link) { link.addEventListener('focus', function () { show(el); }); }
    el.addEventListener('click', function () { show(el); });
  });
  // A link to a step (page.html#step-12) shows that step's first marker.
  var m = /^#step-(\d+)$/.exec(window.location.hash);
  if (m) {
    var first = document.querySelector('[data-what][data-step="' + m[1] + '"]');
    if (first) { show(first); }
  }
  document.body.setAttribute('data-ready', 'ok');
})();
"#;

#[cfg(test)]
mod tests {
    use super::{esc, url_segment};

    #[test]
    fn page_names_are_encoded_for_links() {
        assert_eq!(url_segment("run #1?a%.html"), "run%20%231%3Fa%25.html");
        assert_eq!(url_segment("é.html"), "%C3%A9.html");
    }

    #[test]
    fn escaping_keeps_markup_out_of_text_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
