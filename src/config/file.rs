//! Reading a file a person gave us (a venues file, a scenario, a
//! playbook): only a regular file (after following symbolic links), and
//! at most [`MAX_FILE`] bytes, so that `/dev/zero` or a FIFO given as a
//! configuration is refused at once instead of filling the memory or
//! blocking forever.

use std::io::Read;
use std::path::Path;

/// The largest configuration file toc reads: 64 MiB (a 50,000-device
/// inventory is about 5 MiB).
pub const MAX_FILE: u64 = 64 << 20;

/// Reads a configuration file as UTF-8 text. The error says what is wrong
/// with it, in words, without the path.
pub fn read_text(path: &Path) -> Result<String, String> {
    // Look before opening: opening a FIFO blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "not a regular file ({}); give the path of a file",
            kind(meta.file_type())
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read the file: {e}"))?;
    // The file opened may not be the one looked at (replaced meanwhile).
    let opened = file
        .metadata()
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if !opened.is_file() {
        return Err(format!(
            "not a regular file ({}); give the path of a file",
            kind(opened.file_type())
        ));
    }
    let too_large = || format!("the file is too large: at most {} MiB", MAX_FILE >> 20);
    if opened.len() > MAX_FILE {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file: {e}"))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "cannot read the file: it is not UTF-8 text (bad byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

fn kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "x = 1\n").expect("write");
        assert_eq!(read_text(&p), Ok("x = 1\n".to_owned()));
    }

    #[test]
    fn devices_and_directories_are_refused() {
        let err = read_text(Path::new("/dev/zero")).expect_err("device");
        assert!(err.contains("character device"), "{err}");
        let dir = tempfile::tempdir().expect("tempdir");
        let err = read_text(dir.path()).expect_err("dir");
        assert!(err.contains("a directory"), "{err}");
    }

    #[test]
    fn a_file_over_the_bound_is_refused_with_the_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("big.toml");
        let f = std::fs::File::create(&p).expect("create");
        f.set_len(MAX_FILE + 1).expect("sparse file");
        let err = read_text(&p).expect_err("too large");
        assert!(err.contains("at most 64 MiB"), "{err}");
    }

    #[test]
    fn bad_utf8_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("bin.toml");
        std::fs::write(&p, b"ab\xff").expect("write");
        let err = read_text(&p).expect_err("not utf-8");
        assert!(err.contains("offset 2"), "{err}");
    }
}
