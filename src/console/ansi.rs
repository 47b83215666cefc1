//! The console's output to the terminal, with colours written as the
//! terminal understands them.
//!
//! The terminal library writes every colour, also the 16 ANSI ones, as a
//! 256-colour code (`ESC[38;5;1m`), which a `vt100`, an `xterm` without
//! 256 colours or a `screen` may not know. On a [`Palette::Basic`]
//! terminal, [`Out`] rewrites those of the 16 ANSI colours into the
//! basic codes (`ESC[31m`, `ESC[91m`; backgrounds `ESC[41m`, `ESC[101m`),
//! which every colour terminal knows. Everything else passes unchanged.

use std::io::{self, Write};

use super::theme::Palette;

/// The longest escape sequence held back while it is incomplete; longer
/// ones are not ours to rewrite and pass as they are.
const MAX_SEQUENCE: usize = 64;

/// A writer to the terminal that writes colours for its [`Palette`].
#[derive(Debug)]
pub struct Out<W: Write> {
    inner: W,
    palette: Palette,
    /// An escape sequence not yet complete (it may be split across
    /// writes).
    pending: Vec<u8>,
}

impl<W: Write> Out<W> {
    /// Writes to `inner` for a terminal with `palette`.
    pub fn new(inner: W, palette: Palette) -> Self {
        Out {
            inner,
            palette,
            pending: Vec::new(),
        }
    }

    /// The writer underneath.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

/// Whether `seq` (starting with ESC) is complete: `ESC [` params and a
/// final byte, or ESC and one other byte.
fn complete(seq: &[u8]) -> bool {
    match seq {
        [] | [_] => false,
        [_, b'[', rest @ ..] => rest.last().is_some_and(|b| (0x40..=0x7e).contains(b)),
        [_, _, ..] => true,
    }
}

/// `ESC [ params m` with the 256-colour codes of the 16 ANSI colours made
/// basic codes; any other sequence unchanged.
fn rewrite(seq: &[u8], out: &mut Vec<u8>) {
    let Some(params) = seq
        .strip_prefix(b"\x1b[")
        .and_then(|p| p.strip_suffix(b"m"))
        .and_then(|p| std::str::from_utf8(p).ok())
    else {
        out.extend_from_slice(seq);
        return;
    };
    let parts: Vec<&str> = params.split(';').collect();
    let mut codes: Vec<String> = Vec::with_capacity(parts.len());
    let mut i = 0;
    while i < parts.len() {
        let basic = match (parts[i], parts.get(i + 1), parts.get(i + 2)) {
            (layer @ ("38" | "48"), Some(&"5"), Some(n)) => match n.parse::<u8>() {
                Ok(n @ 0..=7) => Some(u16::from(n) + if layer == "38" { 30 } else { 40 }),
                Ok(n @ 8..=15) => Some(u16::from(n) - 8 + if layer == "38" { 90 } else { 100 }),
                _ => None,
            },
            _ => None,
        };
        if let Some(code) = basic {
            codes.push(code.to_string());
            i += 3;
        } else {
            codes.push(parts[i].to_owned());
            i += 1;
        }
    }
    out.extend_from_slice(b"\x1b[");
    out.extend_from_slice(codes.join(";").as_bytes());
    out.push(b'm');
}

impl<W: Write> Write for Out<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.palette == Palette::Extended {
            return self.inner.write(buf);
        }
        let mut out = Vec::with_capacity(buf.len() + 8);
        for &b in buf {
            if self.pending.is_empty() {
                if b == 0x1b {
                    self.pending.push(b);
                } else {
                    out.push(b);
                }
                continue;
            }
            self.pending.push(b);
            if complete(&self.pending) {
                rewrite(&self.pending, &mut out);
                self.pending.clear();
            } else if self.pending.len() > MAX_SEQUENCE {
                out.append(&mut self.pending);
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn through(palette: Palette, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Out::new(Vec::new(), palette);
        for c in chunks {
            out.write_all(c).unwrap_or_else(|e| panic!("{e}"));
        }
        out.get_ref().clone()
    }

    #[rstest]
    #[case::red_fg(b"\x1b[38;5;1m", b"\x1b[31m")]
    #[case::bright_fg(b"\x1b[38;5;9m", b"\x1b[91m")]
    #[case::grey_fg(b"\x1b[38;5;8m", b"\x1b[90m")]
    #[case::white_fg(b"\x1b[38;5;15m", b"\x1b[97m")]
    #[case::blue_bg(b"\x1b[48;5;4m", b"\x1b[44m")]
    #[case::bright_bg(b"\x1b[48;5;12m", b"\x1b[104m")]
    #[case::both(b"\x1b[38;5;7;48;5;4m", b"\x1b[37;44m")]
    #[case::reset(b"\x1b[39m", b"\x1b[39m")]
    #[case::bold(b"\x1b[1m", b"\x1b[1m")]
    #[case::indexed_kept(b"\x1b[38;5;208m", b"\x1b[38;5;208m")]
    #[case::cursor(b"\x1b[12;4H", b"\x1b[12;4H")]
    #[case::private(b"\x1b[?25l", b"\x1b[?25l")]
    #[case::text(b"STA \xe2\x9c\x94 OK", b"STA \xe2\x9c\x94 OK")]
    fn basic_codes_on_a_basic_terminal(#[case] input: &[u8], #[case] expected: &[u8]) {
        assert_eq!(through(Palette::Basic, &[input]), expected);
        assert_eq!(through(Palette::Extended, &[input]), input);
    }

    #[test]
    fn a_sequence_split_across_writes_is_rewritten() {
        let chunks: [&[u8]; 5] = [b"ab\x1b", b"[38;", b"5;2", b"mX\x1b[", b"0m"];
        assert_eq!(through(Palette::Basic, &chunks), b"ab\x1b[32mX\x1b[0m");
    }

    #[test]
    fn a_runaway_sequence_passes_unchanged() {
        let mut long = b"\x1b[".to_vec();
        long.extend(std::iter::repeat_n(b'1', 100));
        let out = through(Palette::Basic, &[&long]);
        assert_eq!(out, long);
    }
}
