//! The `OdfBody` header of an Olympic Data Feed message, read with
//! quick-xml without reading the body; the body stays bytes and is
//! forwarded unchanged.

use serde::{Deserialize, Serialize};

/// What identifies one document: its versions ascend.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct DocKey {
    /// `CompetitionCode` (empty when absent, as in ODF1 messages).
    pub competition_code: String,
    /// `DocumentCode`.
    pub document_code: String,
    /// `DocumentSubcode`.
    pub document_subcode: String,
    /// `DocumentType`.
    pub document_type: String,
    /// `DocumentSubtype`.
    pub document_subtype: String,
}

/// The attributes of the `OdfBody` root the relay uses. Others pass
/// through untouched in the body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Header {
    /// The document it is a version of.
    pub key: DocKey,
    /// `Version`.
    pub version: u64,
    /// `ResultStatus` (`START_LIST`, `LIVE`, `OFFICIAL`, …).
    pub result_status: Option<String>,
    /// `FeedFlag` (`P` production, `T` test).
    pub feed_flag: Option<String>,
    /// `Date`.
    pub date: Option<String>,
    /// `Time`.
    pub time: Option<String>,
    /// `LogicalDate`.
    pub logical_date: Option<String>,
    /// `Source`.
    pub source: Option<String>,
}

impl Header {
    /// Whether it is a keep-alive (`DT_KA`): counted, never forwarded.
    pub fn is_keepalive(&self) -> bool {
        self.key.document_type == "DT_KA"
    }

    /// The discipline: the first three characters of `DocumentCode`.
    pub fn discipline(&self) -> &str {
        let code = &self.key.document_code;
        code.char_indices()
            .nth(3)
            .map_or(code.as_str(), |(i, _)| &code[..i])
    }
}
