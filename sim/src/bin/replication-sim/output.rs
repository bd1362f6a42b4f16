//! Standard output for reports: a closed pipe (`run ... | head`) ends the output quietly and the exit
//! code still says whether the scenarios passed; any other write error (a full disk, `> /dev/full`)
//! means the report was lost, so the command fails.

use std::io::{self, ErrorKind, StdoutLock, Write};

/// The report's standard output.
pub struct Output {
    out: StdoutLock<'static>,
    /// The reader went away: nothing more is written, and that is not an error.
    closed: bool,
    /// The first write error other than a closed pipe.
    error: Option<io::Error>,
}

impl Output {
    /// Standard output, locked for the whole command.
    pub fn stdout() -> Output {
        Output {
            out: io::stdout().lock(),
            closed: false,
            error: None,
        }
    }

    /// Writes `text` and a newline (nothing once the output has failed or closed).
    pub fn line(&mut self, text: impl std::fmt::Display) {
        if self.closed || self.error.is_some() {
            return;
        }
        if let Err(e) = writeln!(self.out, "{text}") {
            self.failed(e);
        }
    }

    fn failed(&mut self, e: io::Error) {
        if e.kind() == ErrorKind::BrokenPipe {
            self.closed = true;
        } else {
            self.error = Some(e);
        }
    }

    /// Flushes, and says whether everything written arrived (a closed pipe counts as arrived).
    pub fn finish(mut self) -> Result<(), io::Error> {
        if !self.closed && self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.failed(e);
            }
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// The exit code after `finish`: a lost report is exit 2 whatever the runs said, with a message.
pub fn exit_code(result: Result<(), io::Error>, code: u8) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: cannot write the report to standard output: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
