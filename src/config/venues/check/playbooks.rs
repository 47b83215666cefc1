//! Validation of `[playbooks]`: the playbook folder (relative to the
//! folder of venues.toml) and whether shell steps are allowed.

use std::path::PathBuf;

use crate::config::venues::cx::Cx;
use crate::config::venues::model::PlaybookPolicy;
use crate::config::venues::raw::RawPlaybooks;

/// The playbook folder when `[playbooks]` gives none.
pub(crate) const DEFAULT_DIR: &str = "playbooks";

impl Cx<'_> {
    /// Checks `[playbooks]`; every key left out takes its default.
    pub(super) fn validate_playbooks(&mut self, raw: Option<&RawPlaybooks>) -> PlaybookPolicy {
        let mut dir = PathBuf::from(DEFAULT_DIR);
        if let Some(v) = raw.and_then(|r| r.dir.as_ref()) {
            if v.get_ref().trim().is_empty() {
                self.error(
                    v.span(),
                    "the playbook dir is empty",
                    "name the playbook folder, e.g. \"playbooks\" (relative to venues.toml)",
                );
            } else {
                dir = PathBuf::from(v.get_ref());
            }
        }
        if dir.is_relative()
            && let Some(parent) = self.src.path().parent()
        {
            dir = parent.join(dir);
        }
        PlaybookPolicy {
            dir,
            shell: raw.and_then(|r| r.shell).unwrap_or(false),
        }
    }
}
