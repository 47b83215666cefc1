//! The OS user the console runs as: `$USER`, else the name the password
//! database gives the real user id.

use std::path::Path;

/// The OS user name: `$USER` when set and not empty, else the name of
/// the real user id in `/etc/passwd`; `None` when neither is known.
pub fn os_user() -> Option<String> {
    if let Some(user) = std::env::var("USER").ok().filter(|u| !u.is_empty()) {
        return Some(user);
    }
    passwd_name(Path::new("/etc/passwd"), real_uid()?)
}

// `Option` for the platforms without user ids.
#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)]
fn real_uid() -> Option<u32> {
    Some(rustix::process::getuid().as_raw())
}

#[cfg(not(unix))]
fn real_uid() -> Option<u32> {
    None
}

/// The OS name of `uid`, from `/etc/passwd`.
pub fn name_of_uid(uid: u32) -> Option<String> {
    passwd_name(Path::new("/etc/passwd"), uid)
}

/// The name of `uid` in a passwd file (`name:x:uid:gid:…` lines); `None`
/// when the file cannot be read or has no such user.
pub fn passwd_name(file: &Path, uid: u32) -> Option<String> {
    let text = crate::config::file::read_text(file).ok()?;
    name_of(&text, uid)
}

/// The name of `uid` in a passwd file's text: the first line whose third
/// field is `uid`. Comments, blank and malformed lines are skipped.
fn name_of(text: &str, uid: u32) -> Option<String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let _password = fields.next()?;
            let id: u32 = fields.next()?.trim().parse().ok()?;
            (id == uid && !name.is_empty()).then(|| name.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lines_give_the_name_of_the_uid() {
        let text = "# comment\nroot:x:0:0:root:/root:/bin/bash\n\nbroken line\n:x:7:7::/:/bin/sh\nalice:x:1000:1000:Alice:/home/alice:/bin/bash\n";
        assert_eq!(name_of(text, 0).as_deref(), Some("root"));
        assert_eq!(name_of(text, 1000).as_deref(), Some("alice"));
        assert_eq!(name_of(text, 7), None);
        assert_eq!(name_of(text, 42), None);
    }

    #[test]
    fn a_passwd_file_is_read_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("passwd");
        std::fs::write(&p, "tina:x:1001:1001::/home/tina:/bin/sh\n").expect("write");
        assert_eq!(passwd_name(&p, 1001).as_deref(), Some("tina"));
        assert_eq!(passwd_name(&dir.path().join("none"), 1001), None);
        assert_eq!(passwd_name(Path::new("/dev/zero"), 0), None);
    }
}
