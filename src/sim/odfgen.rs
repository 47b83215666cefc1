//! Realistic ODF messages for the simulated results systems: the order of
//! a competition unit's documents (`DT_RESULT` from `START_LIST` through
//! `LIVE` to `UNOFFICIAL` and `OFFICIAL`, `DT_CURRENT` and
//! `DT_PLAY_BY_PLAY` while live), bodies of 2-8 KB with competitors and
//! marks, keep-alives (`DT_KA`); and a small `OdfBody` header reader the
//! consumers and tests use to tell messages apart.

use std::fmt::Write as _;

use quick_xml::Reader;
use quick_xml::events::Event;

pub use crate::model::relay::DocKey;

/// `CompetitionCode` of every simulated message.
pub const COMPETITION: &str = "OG2024";
/// The smallest body generated, in bytes.
pub const MIN_BODY: usize = 2 * 1024;
/// The largest body generated, in bytes.
pub const MAX_BODY: usize = 8 * 1024;
/// `DT_RESULT` versions while `LIVE`.
pub const LIVE_STEPS: u64 = 4;

/// One generated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OdfMessage {
    /// The document it is a version of.
    pub key: DocKey,
    /// `Version`.
    pub version: u64,
    /// `ResultStatus`, when the document type has one.
    pub status: Option<&'static str>,
    /// The whole XML text.
    pub body: Vec<u8>,
}

/// The ODF discipline code of a sport as venues.toml names it.
pub fn discipline(sport: &str) -> String {
    let known = [
        ("Athletics", "ATH"),
        ("Swimming", "SWM"),
        ("Rugby", "RU7"),
        ("Football", "FBL"),
        ("Basketball", "BKB"),
        ("Handball", "HBL"),
        ("Volleyball", "VVO"),
        ("Beach volleyball", "VBV"),
        ("Tennis", "TEN"),
        ("Judo", "JUD"),
        ("Fencing", "FEN"),
        ("Rowing", "ROW"),
        ("Cycling track", "CTR"),
        ("Equestrian", "EQU"),
        ("Gymnastics", "GAR"),
        ("Diving", "DIV"),
        ("Archery", "ARC"),
        ("Boxing", "BOX"),
        ("Table tennis", "TTE"),
        ("Wrestling", "WRE"),
    ];
    if let Some((_, code)) = known.iter().find(|(name, _)| *name == sport) {
        return (*code).to_owned();
    }
    let mut code: String = sport
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(3)
        .collect::<String>()
        .to_ascii_uppercase();
    while code.len() < 3 {
        code.push('X');
    }
    code
}

/// A 34-character RSC `DocumentCode`: discipline, gender, event, phase,
/// unit (`ATHM100M--------------FNL-000100--`).
pub fn document_code(
    discipline: &str,
    gender: char,
    event: &str,
    phase: &str,
    unit: u32,
) -> String {
    let mut code = String::with_capacity(34);
    code.push_str(discipline);
    code.push(gender);
    let _ = write!(code, "{event:-<18.18}{phase:-<4.4}{unit:06}--");
    code
}

/// What a generator emits for one venue, competition unit after unit.
#[derive(Debug, Clone)]
pub struct UnitPlan {
    disciplines: Vec<String>,
    source: String,
    unit: u32,
    step: u64,
    seed: u64,
}

impl UnitPlan {
    /// A plan for a venue's sports; `source` is the `Source` attribute
    /// (the venue's results system, the same for primary and backup).
    pub fn new(sports: &[String], source: &str, seed: u64) -> UnitPlan {
        let mut disciplines: Vec<String> = sports.iter().map(|s| discipline(s)).collect();
        if disciplines.is_empty() {
            disciplines.push("ATH".to_owned());
        }
        UnitPlan {
            disciplines,
            source: source.to_owned(),
            unit: 1,
            step: 0,
            seed,
        }
    }

    /// The steps of one unit: `START_LIST`, then per live step a result,
    /// a current and a play-by-play, then UNOFFICIAL and OFFICIAL.
    const STEPS: u64 = 1 + 3 * LIVE_STEPS + 2;

    /// The next message of the plan.
    pub fn next_message(&mut self) -> OdfMessage {
        let n = self.unit as usize;
        let disc = &self.disciplines[n % self.disciplines.len()];
        let gender = if n.is_multiple_of(2) { 'W' } else { 'M' };
        let code = document_code(
            disc,
            gender,
            &format!("EVT{:02}", n % 7 + 1),
            "FNL",
            self.unit * 100,
        );
        let step = self.step;
        let (doc_type, version, status) = match step {
            0 => ("DT_RESULT", 1, Some("START_LIST")),
            s if s <= 3 * LIVE_STEPS => {
                let live = (s - 1) / 3 + 1;
                match (s - 1) % 3 {
                    0 => ("DT_RESULT", 1 + live, Some("LIVE")),
                    1 => ("DT_CURRENT", live, Some("LIVE")),
                    _ => ("DT_PLAY_BY_PLAY", live, None),
                }
            }
            s if s == 3 * LIVE_STEPS + 1 => ("DT_RESULT", 2 + LIVE_STEPS, Some("UNOFFICIAL")),
            _ => ("DT_RESULT", 3 + LIVE_STEPS, Some("OFFICIAL")),
        };
        self.step += 1;
        if self.step == Self::STEPS {
            self.step = 0;
            self.unit += 1;
        }
        let key = DocKey {
            competition_code: COMPETITION.to_owned(),
            document_code: code,
            document_subcode: String::new(),
            document_type: doc_type.to_owned(),
            document_subtype: String::new(),
        };
        let seed = self.seed ^ u64::from(self.unit).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let body = result_body(&key, version, status, &self.source, seed, step);
        OdfMessage {
            key,
            version,
            status,
            body,
        }
    }
}

/// A keep-alive of a results system.
pub fn keepalive(discipline: &str, source: &str, version: u64) -> OdfMessage {
    let key = DocKey {
        competition_code: COMPETITION.to_owned(),
        document_code: document_code(discipline, '0', "", "", 0),
        document_subcode: String::new(),
        document_type: "DT_KA".to_owned(),
        document_subtype: String::new(),
    };
    let mut body = header_xml(&key, version, None, source);
    body.push_str("/>\n");
    OdfMessage {
        key,
        version,
        status: None,
        body: body.into_bytes(),
    }
}

/// The `<?xml?>` line and the `OdfBody` start tag, left open.
fn header_xml(key: &DocKey, version: u64, status: Option<&str>, source: &str) -> String {
    let mut s = String::with_capacity(MAX_BODY);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OdfBody CompetitionCode=\"{}\" DocumentCode=\"{}\" DocumentType=\"{}\" Version=\"{version}\"",
        key.competition_code, key.document_code, key.document_type
    );
    if let Some(st) = status {
        let _ = write!(s, " ResultStatus=\"{st}\"");
    }
    let _ = write!(
        s,
        " FeedFlag=\"P\" Date=\"2024-08-04\" Time=\"2155{version:05}\" LogicalDate=\"2024-08-04\" Source=\"{source}\""
    );
    s
}

const GIVEN: [&str; 12] = [
    "Noah", "Léa", "Kenji", "Amara", "Lucas", "Sofia", "Mateo", "Aïcha", "Oliver", "Mei", "Jonas",
    "Camila",
];
const FAMILY: [&str; 12] = [
    "Lyles", "Dupont", "Tanaka", "Okafor", "Silva", "Rossi", "García", "Diallo", "Smith", "Chen",
    "Müller", "Pérez",
];
const NOC: [&str; 12] = [
    "USA", "FRA", "JPN", "NGR", "BRA", "ITA", "ESP", "SEN", "GBR", "CHN", "GER", "MEX",
];

/// A `DT_RESULT`, `DT_CURRENT` or `DT_PLAY_BY_PLAY` body of 2-8 KB.
fn result_body(
    key: &DocKey,
    version: u64,
    status: Option<&str>,
    source: &str,
    seed: u64,
    step: u64,
) -> Vec<u8> {
    let mut s = header_xml(key, version, status, source);
    let _ = write!(
        s,
        ">\n  <Competition Gen=\"OG-2024-GEN-V1\" Sport=\"OG-2024-{}-1.0\" Codes=\"OG-2024-CC-V1\">\n",
        &key.document_code[..3]
    );
    // 8 to 20 competitors, from the seed: 2-8 KB in all.
    let competitors = 8 + usize::try_from(seed % 13).unwrap_or(0);
    for i in 0..competitors {
        let small = |n: u64| usize::try_from(n).unwrap_or(0);
        let pick = (small(seed % 1000) + i * 7) % GIVEN.len();
        let mark = 9_500 + small(seed % 400) + i * 37 + small(step);
        let _ = write!(
            s,
            "    <Result Rank=\"{r}\" SortOrder=\"{r}\" ResultType=\"TIME\" Result=\"{}.{:03}\">\n      <Competitor Code=\"{c}\" Type=\"A\" Organisation=\"{noc}\">\n        <Composition><Athlete Code=\"{c}\" Order=\"1\"><Description GivenName=\"{g}\" FamilyName=\"{f}\" Gender=\"{gender}\" Organisation=\"{noc}\"/></Athlete></Composition>\n      </Competitor>\n    </Result>\n",
            mark / 1000,
            mark % 1000,
            r = i + 1,
            c = 1_000_000 + pick * 31 + i,
            noc = NOC[(pick + i) % NOC.len()],
            g = GIVEN[pick],
            f = FAMILY[(pick + i) % FAMILY.len()],
            gender = key.document_code.chars().nth(3).unwrap_or('M'),
        );
        if s.len() > MAX_BODY - 600 {
            break;
        }
    }
    s.push_str("  </Competition>\n</OdfBody>\n");
    while s.len() < MIN_BODY {
        s.insert_str(s.len() - "  </Competition>\n</OdfBody>\n".len(), "    <ExtendedInfos><ExtendedInfo Type=\"UI\" Code=\"WIND\" Value=\"+0.4\"/></ExtendedInfos>\n");
    }
    s.into_bytes()
}

/// What a consumer reads of a message: the document key, `Version` and
/// `ResultStatus` of the `OdfBody` root; `None` for anything else.
pub fn read_header(body: &[u8]) -> Option<(DocKey, u64, Option<String>)> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).ok()? {
            Event::Start(e) | Event::Empty(e) => {
                if e.name().as_ref() != "OdfBody" {
                    return None;
                }
                let mut key = DocKey::default();
                let mut version = None;
                let mut status = None;
                for a in e.attributes() {
                    let a = a.ok()?;
                    let v: String = a.value.into_owned();
                    match a.key.as_ref() {
                        "CompetitionCode" => key.competition_code = v,
                        "DocumentCode" => key.document_code = v,
                        "DocumentSubcode" => key.document_subcode = v,
                        "DocumentType" => key.document_type = v,
                        "DocumentSubtype" => key.document_subtype = v,
                        "Version" => version = v.parse().ok(),
                        "ResultStatus" => status = Some(v),
                        _ => {}
                    }
                }
                return Some((key, version?, status));
            }
            Event::Eof => return None,
            _ => buf.clear(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LIVE_STEPS, MAX_BODY, MIN_BODY, UnitPlan, document_code, keepalive, read_header};

    #[test]
    fn document_codes_have_34_characters() {
        let c = document_code("ATH", 'M', "100M", "FNL", 100);
        assert_eq!(c, "ATHM100M--------------FNL-000100--");
        assert_eq!(c.len(), 34);
    }

    #[test]
    fn a_unit_goes_from_start_list_to_official_in_2_to_8_kb() {
        let mut plan = UnitPlan::new(&["Athletics".to_owned()], "OVR-STA", 7);
        let msgs: Vec<_> = (0..(3 * LIVE_STEPS + 3))
            .map(|_| plan.next_message())
            .collect();
        let results: Vec<_> = msgs
            .iter()
            .filter(|m| m.key.document_type == "DT_RESULT")
            .map(|m| (m.version, m.status.unwrap_or("")))
            .collect();
        assert_eq!(results.first(), Some(&(1, "START_LIST")));
        assert_eq!(results.last(), Some(&(LIVE_STEPS + 3, "OFFICIAL")));
        for m in &msgs {
            assert!(
                (MIN_BODY..=MAX_BODY).contains(&m.body.len()),
                "{}",
                m.body.len()
            );
            let (key, version, _) = read_header(&m.body).expect("header");
            assert_eq!((key, version), (m.key.clone(), m.version));
        }
        assert!(msgs.iter().any(|m| m.key.document_type == "DT_CURRENT"));
        assert!(
            msgs.iter()
                .any(|m| m.key.document_type == "DT_PLAY_BY_PLAY")
        );
        // The next unit is another document.
        let next = msgs.last().map(|m| m.key.document_code.clone());
        assert_ne!(Some(plan.next_message().key.document_code), next);
    }

    #[test]
    fn keepalives_read_back() {
        let ka = keepalive("ATH", "OVR-STA", 3);
        let (key, version, status) = read_header(&ka.body).expect("header");
        assert_eq!(
            (key.document_type.as_str(), version, status),
            ("DT_KA", 3, None)
        );
    }
}
