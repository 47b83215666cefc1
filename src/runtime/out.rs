//! What the commands print, on stdout and stderr, without ever panicking
//! (`println!` panics when the pipe is closed: `toc check | head -1`).
//!
//! A closed pipe (`EPIPE`) ends the output quietly: nothing more is
//! written, nothing is said about it, and the command exits with the
//! status it would have had if its output had been read (a reader that
//! stopped early, like `head`, has what it wanted). Any other write error
//! on stdout (a full disk: `toc check > /dev/full`) is said once on stderr
//! and turns a success into status 1 ([`status`]): the output is not
//! whole.

use std::fmt;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicU8, Ordering};

/// Stdout is still written.
const OPEN: u8 = 0;
/// Stdout is a closed pipe.
const CLOSED: u8 = 1;
/// Writing stdout failed otherwise.
const FAILED: u8 = 2;

static STDOUT: AtomicU8 = AtomicU8::new(OPEN);

/// Writes `args` and a newline to stdout, unless stdout was found closed
/// or broken before.
pub fn line(args: fmt::Arguments<'_>) {
    if STDOUT.load(Ordering::Relaxed) != OPEN {
        return;
    }
    let written = {
        let mut out = io::stdout().lock();
        writeln!(out, "{args}").and_then(|()| out.flush())
    };
    match written {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => STDOUT.store(CLOSED, Ordering::Relaxed),
        Err(e) => {
            STDOUT.store(FAILED, Ordering::Relaxed);
            err(format_args!("toc: cannot write the output: {e}\n"));
        }
    }
}

/// Writes `args` to stderr as they are (no newline added); a closed or
/// broken stderr is ignored: there is nowhere left to say it.
pub fn err(args: fmt::Arguments<'_>) {
    let mut e = io::stderr().lock();
    let _ = e.write_fmt(args).and_then(|()| e.flush());
}

/// Whether stdout was found to be a closed pipe.
pub fn closed() -> bool {
    STDOUT.load(Ordering::Relaxed) == CLOSED
}

/// The exit status of a command that would exit with `code`: `code`,
/// except that a success becomes 1 when stdout could not be written for
/// another reason than a closed pipe.
pub fn status(code: u8) -> u8 {
    if code == 0 && STDOUT.load(Ordering::Relaxed) == FAILED {
        1
    } else {
        code
    }
}
