//! `toc demo --no-console` and `toc run --no-console`: everything runs
//! (simulator, polling, engine, store, audit, notifications) but no
//! console. Commands come as lines on standard input, the text of the
//! console's `:` line (a leading `:` is optional), and each gets exactly
//! one line on standard output: `applied: WHAT` or `refused: WHY`. The
//! first line, `ready`, says the engine is up. A rack-mounted TOC without
//! a screen, and scripts, drive it this way.
//!
//! As the console's, the loop runs on a thread of its own
//! ([`ConsoleThread`]), so a reader that stops reading the answers blocks
//! only that thread, never the poller or the engine; standard input is
//! read on one more thread, left behind at exit (a read cannot be
//! cancelled). Commands go to the engine one at a time, in order, each
//! after the answer to the one before, as the console sends them.
//!
//! The end of the input ends the loop (then the caller shuts down, exit
//! 0); so does a terminating signal ([`Signals`]), as for the console.

use std::io::{self, BufRead};

use tokio::sync::mpsc;

use crate::console::cmdline::{self, Line};
use crate::engine::{Command, EngineHandle};
use crate::model::printable;

use super::console::{ConsoleThread, Ended, Served, Signals};

/// The longest command line read; a longer one is refused whole.
pub const MAX_LINE: usize = 16 * 1024;

/// What one line of input asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// A blank line or a `#` comment: no answer.
    Nothing,
    /// A command for the engine.
    Send(Command),
    /// A playbook command, sent once the run it names is known (the
    /// engine's snapshot says which run waits).
    Playbook(crate::console::playbook_line::PlaybookLine),
    /// Refused before the engine sees it: why.
    Refuse(String),
}

/// Reads one line of input (`demo` allows the simulator's commands), with
/// the console's parser ([`cmdline::parse`]). What is not a command for
/// the engine (`venue STA`, `help`) is refused here: there is no view to
/// move.
pub fn read(text: &str, demo: bool) -> Ask {
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ask::Nothing;
    }
    let text = text.strip_prefix(':').unwrap_or(text);
    match cmdline::parse(text, demo) {
        Ok(Line::Send(command)) => Ask::Send(command),
        Ok(Line::Playbook(line)) => Ask::Playbook(line),
        Ok(_) => Ask::Refuse("not a command here".to_owned()),
        Err(why) => Ask::Refuse(why),
    }
}

/// The answer line to a command (one line: control characters escaped).
pub fn answer(reply: &crate::engine::Reply) -> String {
    let line = match reply {
        Ok(done) => format!("applied: {done}"),
        Err(why) => {
            let why = why.to_string();
            match why.strip_prefix("refused: ") {
                Some(rest) => format!("refused: {rest}"),
                None => format!("refused: {why}"),
            }
        }
    };
    printable(&line).into_owned()
}

/// One line of input, or why it cannot be read (too long, not UTF-8).
pub type Input = Result<String, String>;

/// Reads `input` line by line into a channel, on a thread of its own,
/// until its end (or an error reading it); the channel then closes.
pub fn read_lines<R: BufRead + Send + 'static>(input: R) -> io::Result<mpsc::Receiver<Input>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("toc-stdin".to_owned())
        .spawn(move || {
            let mut input = input;
            while let Some(line) = next_line(&mut input) {
                if tx.blocking_send(line).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}

/// The next line of `input`, bounded by [`MAX_LINE`]; `None` at its end.
fn next_line(input: &mut impl BufRead) -> Option<Input> {
    let mut buf = Vec::new();
    let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX);
    let n = io::Read::take(&mut *input, limit + 1)
        .read_until(b'\n', &mut buf)
        .ok()?;
    if n == 0 {
        return None;
    }
    if buf.len() > MAX_LINE {
        // Skip the rest of the line.
        if buf.last() != Some(&b'\n') {
            let mut rest = Vec::new();
            loop {
                rest.clear();
                match io::Read::take(&mut *input, limit).read_until(b'\n', &mut rest) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if rest.last() == Some(&b'\n') => break,
                    Ok(_) => {}
                }
            }
        }
        return Some(Err(format!("the line is longer than {MAX_LINE} bytes")));
    }
    Some(String::from_utf8(buf).map_err(|_| "the line is not UTF-8".to_owned()))
}

/// Answers every line of `lines` in order, each with one line given to
/// `say`, until the input ends (`Ok`) or `stop` resolves.
pub async fn answer_lines(
    handle: &EngineHandle,
    demo: bool,
    mut lines: mpsc::Receiver<Input>,
    mut say: impl FnMut(&str),
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    loop {
        let line = tokio::select! {
            () = &mut stop => return,
            line = lines.recv() => match line {
                Some(line) => line,
                None => return,
            },
        };
        let ask = match line {
            Ok(text) => read(&text, demo),
            Err(why) => Ask::Refuse(why),
        };
        let ask = match ask {
            Ask::Playbook(line) => match playbook_command(line, &handle.snapshot()) {
                Ok(command) => Ask::Send(command),
                Err(why) => Ask::Refuse(why),
            },
            other => other,
        };
        match ask {
            Ask::Nothing | Ask::Playbook(_) => {}
            Ask::Refuse(why) => say(&printable(&format!("refused: {why}"))),
            Ask::Send(command) => {
                let command = cmdline::with_known_ids(command, &handle.snapshot());
                let reply = tokio::select! {
                    () = &mut stop => return,
                    reply = handle.send(command) => reply,
                };
                say(&answer(&reply));
            }
        }
    }
}

/// A playbook line as a command, without a view to say which incident
/// or run: `:run ID on INCIDENT` and `:dry-run` name their incident;
/// an answer goes to the one run waiting for a person, a control to the
/// one run not over (otherwise the line is refused, naming the runs).
pub fn playbook_command(
    line: crate::console::playbook_line::PlaybookLine,
    snap: &crate::engine::Snapshot,
) -> Result<Command, String> {
    use crate::console::playbook_line::PlaybookLine;
    use crate::engine::PlaybookCommand;
    let names = |runs: &[&crate::engine::Run]| {
        runs.iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let command = match line {
        PlaybookLine::Run {
            playbook,
            on: Some(which),
        } => PlaybookCommand::Run { playbook, which },
        PlaybookLine::DryRun {
            playbook,
            on: Some(which),
        } => PlaybookCommand::DryRun { playbook, which },
        PlaybookLine::Run { .. } | PlaybookLine::DryRun { .. } => {
            return Err("name the incident: `run PLAYBOOK on ID|KEY`".to_owned());
        }
        PlaybookLine::Runs => return Err("not a command here".to_owned()),
        PlaybookLine::Answer(answer) => {
            let waiting: Vec<&crate::engine::Run> = snap
                .runs
                .iter()
                .filter(|r| !r.is_over() && r.step().is_some_and(|s| s.state.waits_for_person()))
                .collect();
            let [run] = waiting[..] else {
                return Err(format!(
                    "{} runs wait for an answer ({}): answer from a console, on the run's view",
                    waiting.len(),
                    names(&waiting)
                ));
            };
            let step = run.step().map(|s| s.id.clone()).unwrap_or_default();
            PlaybookCommand::Answer {
                run: run.id.clone(),
                step,
                answer,
            }
        }
        PlaybookLine::Control(action) => {
            let going: Vec<&crate::engine::Run> =
                snap.runs.iter().filter(|r| !r.is_over()).collect();
            let [run] = going[..] else {
                return Err(format!(
                    "{} runs are not over ({}): control one from a console, on the run's view",
                    going.len(),
                    names(&going)
                ));
            };
            PlaybookCommand::Control {
                run: run.id.clone(),
                action,
            }
        }
    };
    Ok(Command::Playbook(command))
}

/// Prints `ready`, then answers the lines of standard input on a thread
/// of its own until the input ends or the process gets a terminating
/// signal. Call on the main runtime: that is where signals are caught.
pub async fn serve(handle: EngineHandle, demo: bool) -> Served {
    let mut signals = Signals::catch();
    let lines = match read_lines(io::BufReader::new(io::stdin())) {
        Ok(lines) => lines,
        Err(e) => {
            return Served {
                ended: Ended::Failed(e),
                signal: None,
            };
        }
    };
    super::out::line(format_args!("ready"));
    let spawned = ConsoleThread::spawn(move |stop| async move {
        let say = |line: &str| super::out::line(format_args!("{line}"));
        answer_lines(&handle, demo, lines, say, stop.requested()).await;
        Ok(())
    });
    super::console::supervise(&mut signals, spawned).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::IncidentCommand;

    #[test]
    fn reads_command_lines_as_the_console_does() {
        let note = Ask::Send(Command::Incident(IncidentCommand::Note {
            which: "1-3".into(),
            text: "fibre cut".into(),
        }));
        assert_eq!(read("note 1-3 fibre cut", false), note);
        assert_eq!(read("  :note 1-3 fibre cut \n", false), note);
        assert_eq!(read("", true), Ask::Nothing);
        assert_eq!(read("   \n", true), Ask::Nothing);
        assert_eq!(read("# a comment", true), Ask::Nothing);
        for view in ["venue STA", ":help", "wall", "quit", "incidents"] {
            assert_eq!(
                read(view, true),
                Ask::Refuse("not a command here".into()),
                "{view}"
            );
        }
        let Ask::Refuse(why) = read("fault STA-core-a down", false) else {
            panic!("a fault outside a demo is refused");
        };
        assert!(why.contains("only in a demo"), "{why}");
        assert!(matches!(read("fault STA-core-a down", true), Ask::Send(_)));
        let Ask::Refuse(why) = read("frobnicate", true) else {
            panic!("unknown");
        };
        assert!(why.starts_with("unknown command `frobnicate`"), "{why}");
    }

    #[test]
    fn answers_are_one_line() {
        use crate::engine::{Done, Refusal};
        let done = Ok(Done::Incident {
            id: "1-3".into(),
            text: "1-3 acknowledged: a\nb".into(),
        });
        assert_eq!(answer(&done), "applied: 1-3 acknowledged: a\\nb");
        let refused = Err(Refusal::Invalid("no open incident 9-9".into()));
        assert_eq!(answer(&refused), "refused: no open incident 9-9");
        assert_eq!(
            answer(&Err(Refusal::Unavailable)),
            "refused: the engine is not reachable"
        );
    }

    #[test]
    fn long_and_broken_lines_are_refused_and_the_next_read() {
        let long = "x".repeat(MAX_LINE + 10);
        let mut bytes = format!("{long}\nnote 1-3 ok\n").into_bytes();
        // Not UTF-8: a lone continuation byte on the third line.
        bytes.extend_from_slice(b"\x80bad\n");
        let mut input = io::Cursor::new(bytes);
        let first = next_line(&mut input).expect("a line");
        assert!(first.expect_err("too long").contains("longer than"));
        assert_eq!(
            next_line(&mut input).expect("a line"),
            Ok("note 1-3 ok\n".to_owned())
        );
        let third = next_line(&mut input).expect("a line");
        assert_eq!(third, Err("the line is not UTF-8".to_owned()));
        assert!(next_line(&mut input).is_none());
    }

    #[test]
    fn a_last_line_without_newline_is_read() {
        let mut input = io::Cursor::new(b"check STA".to_vec());
        assert_eq!(
            next_line(&mut input).expect("a line"),
            Ok("check STA".to_owned())
        );
        assert!(next_line(&mut input).is_none());
    }
}
