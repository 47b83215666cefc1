//! File sink: one file per message,
//! `dir/<CompetitionCode or "_">/<DocumentCode>_<DocumentType>_<DocumentSubcode>_<DocumentSubtype>_v<Version:06>_<seq>.xml`,
//! written under a temporary name and renamed (the file and its folder
//! synced first when the relay's `fsync` is on). Delivered once renamed.
//! Characters other than ASCII letters, digits, `-` and `.` become `_`,
//! a name part is cut at 80 characters, and a part of only dots becomes
//! `_`, so no header can name a path outside the folder.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use hyper::body::Bytes;

use super::Attempt;
use crate::relay::envelope::Envelope;
use crate::relay::odf::Header;

/// The longest one part of a name may be.
const PART: usize = 80;

fn safe(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(PART)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().all(|c| c == '.') && !out.is_empty() {
        out = "_".repeat(out.len());
    }
    out
}

/// The path of message `seq` under `dir`.
pub fn file_name(dir: &Path, seq: u64, header: &Header) -> PathBuf {
    let k = &header.key;
    let folder = if k.competition_code.is_empty() {
        "_".to_owned()
    } else {
        safe(&k.competition_code)
    };
    let name = format!(
        "{}_{}_{}_{}_v{:06}_{seq}.xml",
        safe(&k.document_code),
        safe(&k.document_type),
        safe(&k.document_subcode),
        safe(&k.document_subtype),
        header.version
    );
    dir.join(folder).join(name)
}

#[derive(Debug)]
pub(super) struct FileSink {
    dir: PathBuf,
    fsync: bool,
}

fn write(path: &Path, body: &[u8], fsync: bool) -> std::io::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(body)?;
    if fsync {
        f.sync_data()?;
    }
    drop(f);
    std::fs::rename(&tmp, path)?;
    if fsync {
        std::fs::File::open(folder)?.sync_all()?;
    }
    Ok(())
}

impl FileSink {
    pub(super) fn new(dir: PathBuf, fsync: bool) -> FileSink {
        FileSink { dir, fsync }
    }

    pub(super) async fn deliver(&self, seq: u64, env: &Envelope, body: &Bytes) -> Attempt {
        let path = file_name(&self.dir, seq, &env.header);
        let (body, fsync) = (body.clone(), self.fsync);
        let p = path.clone();
        match tokio::task::spawn_blocking(move || write(&p, &body, fsync)).await {
            Ok(Ok(())) => Attempt::Done,
            Ok(Err(e)) => Attempt::Retry(format!("cannot write {}: {e}", path.display())),
            Err(e) => Attempt::Retry(format!("cannot write {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::odf::DocKey;

    fn header(cc: &str, code: &str, sub: &str, ty: &str, st: &str, v: u64) -> Header {
        Header {
            key: DocKey {
                competition_code: cc.to_owned(),
                document_code: code.to_owned(),
                document_subcode: sub.to_owned(),
                document_type: ty.to_owned(),
                document_subtype: st.to_owned(),
            },
            version: v,
            ..Header::default()
        }
    }

    #[test]
    fn names_come_from_the_header_tuple() {
        let dir = Path::new("/arch");
        let cases = [
            (
                header(
                    "OG2024",
                    "ATHM100M--------------FNL-000100--",
                    "",
                    "DT_RESULT",
                    "",
                    7,
                ),
                42,
                "/arch/OG2024/ATHM100M--------------FNL-000100--_DT_RESULT___v000007_42.xml",
            ),
            (
                header("", "SWM", "A1", "DT_PLAY_BY_PLAY", "X", 1_234_567),
                1,
                "/arch/_/SWM_DT_PLAY_BY_PLAY_A1_X_v1234567_1.xml",
            ),
            (
                header("..", "../../etc/passwd", "a b", "DT/X", "é", 0),
                3,
                "/arch/__/.._.._etc_passwd_DT_X_a_b___v000000_3.xml",
            ),
        ];
        for (h, seq, want) in cases {
            assert_eq!(file_name(dir, seq, &h), PathBuf::from(want));
        }
        let long = header("C", &"A".repeat(500), "", "T", "", 1);
        let name = file_name(dir, 1, &long);
        let file = name
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert!(file.len() < 200, "{file}");
        assert_eq!(name.parent(), Some(Path::new("/arch/C")));
    }
}
