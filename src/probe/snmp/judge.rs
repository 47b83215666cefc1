//! Judging what an agent answered: the facts one check read (uptime,
//! name, interface table, processor loads) against what the device is
//! configured to watch, into a verdict, readings and notes.

use std::collections::BTreeMap;

use super::{LISTED, human_ticks};
use crate::config::venues::Checks;
use crate::model::CheckResult;
use crate::model::text::trim_nul;
use crate::probe::Reading;
use crate::snmp::Value;

/// What one check read from an agent that answered the GET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Facts {
    /// `sysName.0`: `None` when the agent has none (`noSuchObject`), else
    /// the name or what came instead (`missing from the answer`).
    pub(super) sys_name: Option<Result<String, String>>,
    /// `sysUpTime.0` in hundredths of a second, or what came instead
    /// (`noSuchObject`).
    pub(super) uptime: Result<u32, String>,
    /// The interface table (and processor loads), or why the walk failed.
    pub(super) table: Result<Table, String>,
}

/// The walked tables.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Table {
    /// By `ifIndex`.
    pub(super) interfaces: Vec<Interface>,
    /// `hrProcessorLoad` of each processor, in percent (empty when not
    /// walked or not there).
    pub(super) cpu: Vec<u32>,
    /// The `hrProcessorLoad` rows left out, with why
    /// (`hrProcessorLoad.769: 250, not a percent`).
    pub(super) cpu_bad: Vec<String>,
    /// Why the walk stopped before the end of the table, when it did: the
    /// rows are then not all the agent has.
    pub(super) cut: Option<String>,
}

/// One row of the interface table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Interface {
    index: u32,
    /// `ifName`, empty when the agent has none.
    name: String,
    /// `ifDescr`.
    descr: String,
    /// `ifAdminStatus`: 1 up, 2 down, 3 testing.
    admin: Option<i64>,
    /// `ifOperStatus`: 1 up, 2 down, 3 testing, 4 unknown, 5 dormant, 6
    /// notPresent, 7 lowerLayerDown.
    oper: Option<i64>,
    /// Status values that were not an INTEGER (`ifOperStatus: undecodable
    /// value (…)`).
    odd: Vec<String>,
}

impl Interface {
    /// `ifName` and `ifDescr` without trailing NULs.
    fn names(&self) -> (&str, &str) {
        (trim_nul(&self.name), trim_nul(&self.descr))
    }

    /// The name shown: `ifName`, else `ifDescr`, else the `ifIndex`
    /// (without the trailing NULs some agents send).
    fn shown(&self) -> String {
        let (name, descr) = self.names();
        if !name.is_empty() {
            name.to_owned()
        } else if !descr.is_empty() {
            descr.to_owned()
        } else {
            self.index.to_string()
        }
    }

    /// Meant to be up: admin up, or no `ifAdminStatus` to say otherwise.
    fn admin_up(&self) -> bool {
        matches!(self.admin, None | Some(1))
    }

    /// Admin up and operationally down (down, notPresent, lowerLayerDown):
    /// a fault.
    fn faulty(&self) -> bool {
        self.admin_up() && matches!(self.oper, Some(2 | 6 | 7))
    }

    /// `up`, `down`, `admin-down`, or the other state's name; the two
    /// kinds of down that say more are named (`down (lowerLayerDown)`).
    fn state(&self) -> &'static str {
        match (self.admin, self.oper) {
            (Some(2), _) => "admin-down",
            (Some(3), _) | (_, Some(3)) => "testing",
            (_, Some(1)) => "up",
            (_, Some(2)) => "down",
            (_, Some(6)) => "down (notPresent)",
            (_, Some(7)) => "down (lowerLayerDown)",
            (_, Some(5)) => "dormant",
            _ => "unknown",
        }
    }

    /// The state as a reading: with what could not be read when that made
    /// it unknown.
    fn reading(&self) -> String {
        match self.state() {
            "unknown" if !self.odd.is_empty() => format!("unknown ({})", self.odd.join(", ")),
            s => s.to_owned(),
        }
    }
}

impl Table {
    /// From the walked columns: ifDescr, ifAdminStatus, ifOperStatus,
    /// ifName and, when walked, hrProcessorLoad.
    pub(super) fn from_columns(cols: Vec<Vec<(u32, Value)>>) -> Table {
        let mut cols = cols.into_iter();
        let mut next = || cols.next().unwrap_or_default();
        let (descr, admin, oper, name, cpu) = (next(), next(), next(), next(), next());
        let mut rows: BTreeMap<u32, Interface> = BTreeMap::new();
        for (i, v) in descr {
            row(&mut rows, i).descr = v.as_text().unwrap_or_default();
        }
        for (i, v) in name {
            row(&mut rows, i).name = v.as_text().unwrap_or_default();
        }
        for (column, values) in [("ifAdminStatus", admin), ("ifOperStatus", oper)] {
            for (i, v) in values {
                let r = row(&mut rows, i);
                match (v, column) {
                    (Value::Integer(n), "ifAdminStatus") => r.admin = Some(n),
                    (Value::Integer(n), _) => r.oper = Some(n),
                    (v, _) => r.odd.push(format!("{column}: {v}")),
                }
            }
        }
        let mut table = Table {
            interfaces: rows.into_values().collect(),
            ..Table::default()
        };
        for (i, v) in cpu {
            match v {
                Value::Integer(n) => match u32::try_from(n).ok().filter(|n| *n <= 100) {
                    Some(n) => table.cpu.push(n),
                    None => table
                        .cpu_bad
                        .push(format!("hrProcessorLoad.{i}: {n}, not a percent")),
                },
                v => table
                    .cpu_bad
                    .push(format!("hrProcessorLoad.{i}: not an INTEGER ({v})")),
            }
        }
        table
    }

    /// Every interface a configured name means: those whose `ifName`,
    /// `ifDescr` or `ifIndex` number is the name, else those whose `ifName`
    /// or `ifDescr` is the name ignoring case. Agents may give several
    /// interfaces one name (a stacked switch, a Windows host's `ifDescr`):
    /// each is watched. Names are compared without trailing NULs, which
    /// some agents (Windows' `MS TCP Loopback interface\0`) count as part
    /// of the string.
    fn find(&self, wanted: &str) -> Vec<&Interface> {
        let wanted = trim_nul(wanted);
        let exact: Vec<&Interface> = self
            .interfaces
            .iter()
            .filter(|i| {
                let (name, descr) = i.names();
                name == wanted || descr == wanted || i.index.to_string() == wanted
            })
            .collect();
        if !exact.is_empty() {
            return exact;
        }
        self.interfaces
            .iter()
            .filter(|i| {
                let (name, descr) = i.names();
                name.eq_ignore_ascii_case(wanted) || descr.eq_ignore_ascii_case(wanted)
            })
            .collect()
    }

    /// How `i` is named in readings and reasons: its shown name, with its
    /// `ifIndex` when another interface shows the same name (`dup[3]`).
    fn label(&self, i: &Interface) -> String {
        let shown = i.shown();
        let same = self
            .interfaces
            .iter()
            .filter(|o| o.shown() == shown)
            .count();
        if same > 1 {
            format!("{shown}[{}]", i.index)
        } else {
            shown
        }
    }
}

/// The interface at `index`, added when new.
fn row(rows: &mut BTreeMap<u32, Interface>, index: u32) -> &mut Interface {
    rows.entry(index).or_insert_with(|| Interface {
        index,
        name: String::new(),
        descr: String::new(),
        admin: None,
        oper: None,
        odd: Vec::new(),
    })
}

/// What judging builds up: the readings to show, the problems found and
/// notes that change no verdict.
#[derive(Debug, Default)]
struct Judging {
    readings: Vec<Reading>,
    problems: Vec<CheckResult>,
    notes: Vec<String>,
}

/// The verdict on what an answering agent told, the readings to show and
/// notes. A value the agent got wrong (missing, of the wrong type,
/// undecodable) spoils only its own reading, which says so.
pub(super) fn judge(facts: &Facts, checks: &Checks) -> (CheckResult, Vec<Reading>, Vec<String>) {
    let mut j = Judging::default();
    match &facts.sys_name {
        Some(Ok(name)) => j.readings.push(Reading::new("sysName", name)),
        Some(Err(what)) => j.readings.push(Reading::new("sysName", what)),
        None => {}
    }
    match &facts.uptime {
        Ok(ticks) => j
            .readings
            .push(Reading::new("sysUpTime", human_ticks(*ticks, 3))),
        Err(what) => {
            j.readings.push(Reading::new("sysUpTime", what));
            j.problems
                .push(CheckResult::Unknown(format!("sysUpTime.0: {what}")));
        }
    }
    match &facts.table {
        Ok(table) => {
            judge_interfaces(table, &checks.interfaces, &mut j);
            if let Some(threshold) = checks.cpu_threshold {
                judge_cpu(table, threshold, &mut j);
            }
        }
        Err(e) => {
            let what = if checks.cpu_threshold.is_some() {
                "interfaces and cpu"
            } else {
                "interfaces"
            };
            j.problems
                .push(CheckResult::Unknown(format!("{what} not read: {e}")));
        }
    }
    (worst(j.problems), j.readings, j.notes)
}

/// The interfaces `configured` names (each interface of a repeated name),
/// and the names that match none; every interface when none is
/// configured.
fn watched<'t>(table: &'t Table, configured: &[String]) -> (Vec<&'t Interface>, Vec<String>) {
    if configured.is_empty() {
        return (table.interfaces.iter().collect(), Vec::new());
    }
    let mut watched: Vec<&Interface> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for wanted in configured {
        let found = table.find(wanted);
        if found.is_empty() && !missing.contains(wanted) {
            missing.push(wanted.clone());
        }
        for i in found {
            if !watched.iter().any(|w| w.index == i.index) {
                watched.push(i);
            }
        }
    }
    (watched, missing)
}

/// Watched interfaces: the configured ones, or all.
fn judge_interfaces(table: &Table, configured: &[String], j: &mut Judging) {
    if table.interfaces.is_empty() && table.cut.is_none() {
        if configured.is_empty() {
            j.readings
                .push(Reading::new("if", "none: the agent has no ifTable"));
        } else {
            for wanted in configured {
                j.readings
                    .push(Reading::new(format!("if.{wanted}"), "unknown"));
            }
            j.problems.push(CheckResult::Unknown(
                "watched interfaces unknown: the agent has no ifTable".to_owned(),
            ));
        }
        return;
    }
    let (watched, missing) = watched(table, configured);
    for i in &watched {
        j.readings
            .push(Reading::new(format!("if.{}", table.label(i)), i.reading()));
    }
    let absent = if table.cut.is_some() {
        "not read (walk cut)"
    } else {
        "not found"
    };
    for m in &missing {
        j.readings.push(Reading::new(format!("if.{m}"), absent));
    }
    let meant_up = watched.iter().filter(|i| i.admin_up()).count();
    let down: Vec<String> = watched
        .iter()
        .filter(|i| i.faulty())
        .map(|i| match i.oper {
            // Which kind of down, where the agent says more than down.
            Some(6) => format!("{} (notPresent)", table.label(i)),
            Some(7) => format!("{} (lowerLayerDown)", table.label(i)),
            _ => table.label(i),
        })
        .collect();
    if !down.is_empty() {
        j.problems.push(if down.len() == meant_up && meant_up > 1 {
            CheckResult::Fail(format!("all {meant_up} watched interfaces down"))
        } else if down.len() == meant_up {
            CheckResult::Fail(format!("{} down (admin up)", list(&down)))
        } else {
            CheckResult::Warn(format!("{} down (admin up)", list(&down)))
        });
    }
    let noun = if missing.len() == 1 {
        "interface"
    } else {
        "interfaces"
    };
    if let Some(why) = &table.cut {
        j.problems.push(CheckResult::Warn(format!(
            "interface walk cut after {} rows: {why}",
            table.interfaces.len()
        )));
        if !missing.is_empty() {
            // Perhaps in the rows never read: unknown, not absent.
            j.problems.push(CheckResult::Unknown(format!(
                "{noun} {} not among the rows read",
                list(&missing)
            )));
        }
    } else if !missing.is_empty() {
        j.problems.push(CheckResult::Warn(format!(
            "{noun} {} not found",
            list(&missing)
        )));
    }
}

/// The average load across processors against the threshold; loads that
/// are not a percent are left out and named.
fn judge_cpu(table: &Table, threshold: u8, j: &mut Judging) {
    let Some(percent) = average(&table.cpu) else {
        j.problems
            .push(CheckResult::Warn(if table.cpu_bad.is_empty() {
                "cpu_threshold set but the agent has no hrProcessorLoad".to_owned()
            } else {
                format!("cpu unknown: {}", list(&table.cpu_bad))
            }));
        return;
    };
    if !table.cpu_bad.is_empty() {
        j.notes.push(format!(
            "left out of the cpu average: {}",
            list(&table.cpu_bad)
        ));
    }
    j.readings.push(Reading::new("cpu.percent", percent));
    if percent > u32::from(threshold) {
        j.problems.push(CheckResult::Warn(format!(
            "cpu {percent}% over {threshold}%"
        )));
    }
}

/// The rounded average, `None` for no values.
fn average(values: &[u32]) -> Option<u32> {
    let n = u64::try_from(values.len()).ok().filter(|n| *n > 0)?;
    let sum: u64 = values.iter().map(|v| u64::from(*v)).sum();
    u32::try_from((sum + n / 2) / n).ok()
}

/// `a, b, c +2 more`.
pub(super) fn list(names: &[String]) -> String {
    let shown = names
        .iter()
        .take(LISTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        format!("{shown} +{} more", names.len() - LISTED)
    } else {
        shown
    }
}

/// The worst of the problems, with every reason, worst first; OK when
/// there are none.
fn worst(mut problems: Vec<CheckResult>) -> CheckResult {
    problems.sort_by_key(|p| std::cmp::Reverse(p.status().severity()));
    let Some(first) = problems.first() else {
        return CheckResult::Ok;
    };
    let reason = problems
        .iter()
        .filter_map(CheckResult::reason)
        .collect::<Vec<_>>()
        .join("; ");
    match first {
        CheckResult::Ok => CheckResult::Ok,
        CheckResult::Warn(_) => CheckResult::Warn(reason),
        CheckResult::Fail(_) => CheckResult::Fail(reason),
        CheckResult::Unknown(_) => CheckResult::Unknown(reason),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::probe::snmp::MISSING;
    use rstest::rstest;

    fn iface(index: u32, name: &str, admin: i64, oper: i64) -> Interface {
        Interface {
            index,
            name: name.to_owned(),
            descr: format!("descr {name}"),
            admin: Some(admin),
            oper: Some(oper),
            odd: Vec::new(),
        }
    }

    /// Three interfaces: Te0/0/0 up, Te0/0/1 down, Te0/0/2 admin down.
    fn router() -> Table {
        Table {
            interfaces: vec![
                iface(1, "Te0/0/0", 1, 1),
                iface(2, "Te0/0/1", 1, 2),
                iface(3, "Te0/0/2", 2, 2),
            ],
            ..Table::default()
        }
    }

    fn facts(table: Table) -> Facts {
        Facts {
            sys_name: Some(Ok("rtr".to_owned())),
            uptime: Ok(100 * 3600),
            table: Ok(table),
        }
    }

    fn checks(interfaces: &[&str], cpu_threshold: Option<u8>) -> Checks {
        Checks {
            interfaces: interfaces.iter().map(|s| (*s).to_owned()).collect(),
            cpu_threshold,
            ..Checks::default()
        }
    }

    pub(in crate::probe::snmp) fn ok() -> CheckResult {
        CheckResult::Ok
    }
    pub(in crate::probe::snmp) fn warn(s: &str) -> CheckResult {
        CheckResult::Warn(s.to_owned())
    }
    pub(in crate::probe::snmp) fn fail(s: &str) -> CheckResult {
        CheckResult::Fail(s.to_owned())
    }
    pub(in crate::probe::snmp) fn unknown(s: &str) -> CheckResult {
        CheckResult::Unknown(s.to_owned())
    }

    fn many_down(n: u32) -> Table {
        let mut t = Table::default();
        t.interfaces.push(iface(100, "up0", 1, 1));
        for i in 1..=n {
            t.interfaces.push(iface(i, &format!("ge{i}"), 1, 2));
        }
        t
    }

    #[rstest]
    #[case::watched_up(router(), &["Te0/0/0"], None, ok())]
    #[case::admin_down_is_intended(router(), &["Te0/0/0", "Te0/0/2"], None, ok())]
    #[case::one_of_two_down(router(), &["Te0/0/0", "Te0/0/1"], None, warn("Te0/0/1 down (admin up)"))]
    #[case::all_watched_when_none_configured(router(), &[], None, warn("Te0/0/1 down (admin up)"))]
    #[case::only_watched_down(router(), &["Te0/0/1"], None, fail("Te0/0/1 down (admin up)"))]
    #[case::only_admin_up_one_down(router(), &["Te0/0/1", "Te0/0/2"], None, fail("Te0/0/1 down (admin up)"))]
    #[case::by_ifindex(router(), &["2"], None, fail("Te0/0/1 down (admin up)"))]
    #[case::by_ifdescr(router(), &["descr Te0/0/0"], None, ok())]
    #[case::ignoring_case(router(), &["te0/0/0"], None, ok())]
    #[case::not_found(router(), &["Te0/0/0", "Te0/0/9"], None, warn("interface Te0/0/9 not found"))]
    #[case::several_not_found(router(), &["Te0/0/0", "x", "y"], None, warn("interfaces x, y not found"))]
    #[case::down_and_missing(router(), &["Te0/0/0", "Te0/0/1", "Te0/0/9"], None,
        warn("Te0/0/1 down (admin up); interface Te0/0/9 not found"))]
    #[case::all_down_beats_missing(many_down(2), &["ge1", "ge2", "nope"], None,
        fail("all 2 watched interfaces down; interface nope not found"))]
    #[case::up_to_three_listed(many_down(5), &[], None, warn("ge1, ge2, ge3 +2 more down (admin up)"))]
    #[case::no_interfaces_no_config(Table::default(), &[], None, ok())]
    #[case::cpu_under(Table { cpu: vec![10, 20], ..router() }, &["Te0/0/0"], Some(85), ok())]
    #[case::cpu_at_threshold(Table { cpu: vec![85], ..router() }, &["Te0/0/0"], Some(85), ok())]
    #[case::cpu_average_over(Table { cpu: vec![90, 100], ..router() }, &["Te0/0/0"], Some(85), warn("cpu 95% over 85%"))]
    #[case::cpu_average_not_max(Table { cpu: vec![100, 10], ..router() }, &["Te0/0/0"], Some(85), ok())]
    #[case::cpu_missing(router(), &["Te0/0/0"], Some(85), warn("cpu_threshold set but the agent has no hrProcessorLoad"))]
    #[case::cpu_ignored_without_threshold(Table { cpu: vec![100], ..router() }, &["Te0/0/0"], None, ok())]
    fn judges_tables(
        #[case] table: Table,
        #[case] interfaces: &[&str],
        #[case] cpu: Option<u8>,
        #[case] want: CheckResult,
    ) {
        assert_eq!(judge(&facts(table), &checks(interfaces, cpu)).0, want);
    }

    #[test]
    fn all_watched_down_is_down_and_admin_down_does_not_count() {
        let t = Table {
            interfaces: vec![
                iface(1, "a", 1, 2),
                iface(2, "b", 1, 7),
                iface(3, "c", 2, 2),
            ],
            ..Table::default()
        };
        assert_eq!(
            judge(&facts(t), &checks(&[], None)).0,
            fail("all 2 watched interfaces down")
        );
    }

    #[test]
    fn missing_uptime_and_failed_walk_are_unknown() {
        let f = Facts {
            sys_name: None,
            uptime: Err("noSuchObject".to_owned()),
            table: Ok(router()),
        };
        assert_eq!(
            judge(&f, &checks(&["Te0/0/0"], None)).0,
            unknown("sysUpTime.0: noSuchObject")
        );
        let f = Facts {
            table: Err("no answer".to_owned()),
            ..facts(router())
        };
        assert_eq!(
            judge(&f, &checks(&[], Some(50))).0,
            unknown("interfaces and cpu not read: no answer")
        );
        // A real fault outranks not knowing, and both are told.
        let f = Facts {
            uptime: Err("noSuchObject".to_owned()),
            ..facts(router())
        };
        assert_eq!(
            judge(&f, &checks(&[], None)).0,
            warn("Te0/0/1 down (admin up); sysUpTime.0: noSuchObject")
        );
    }

    #[test]
    fn readings_name_the_watched_interfaces() {
        let t = Table {
            cpu: vec![40, 61],
            ..router()
        };
        let (_, readings, _) = judge(&facts(t), &checks(&["Te0/0/1", "3", "Te0/0/9"], Some(90)));
        let got: Vec<(&str, &str)> = readings
            .iter()
            .map(|r| (r.name.as_str(), r.value.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("sysName", "rtr"),
                ("sysUpTime", "1h"),
                ("if.Te0/0/1", "down"),
                ("if.Te0/0/2", "admin-down"),
                ("if.Te0/0/9", "not found"),
                ("cpu.percent", "51"),
            ]
        );
    }

    fn names_and_values(readings: &[Reading]) -> Vec<(&str, &str)> {
        readings
            .iter()
            .map(|r| (r.name.as_str(), r.value.as_str()))
            .collect()
    }

    #[test]
    fn an_undecodable_uptime_spoils_only_its_reading() {
        let bad = Value::Undecodable {
            tag: 0x43,
            bytes: vec![1, 2, 3, 4, 5, 6, 7, 8, 9],
            reason: "integer too long",
        };
        let f = Facts {
            uptime: Err(bad.to_string()),
            ..facts(router())
        };
        let (result, readings, _) = judge(&f, &checks(&["Te0/0/0"], None));
        assert_eq!(
            result,
            unknown("sysUpTime.0: undecodable value (tag 0x43: integer too long)")
        );
        assert_eq!(
            names_and_values(&readings),
            [
                ("sysName", "rtr"),
                (
                    "sysUpTime",
                    "undecodable value (tag 0x43: integer too long)"
                ),
                ("if.Te0/0/0", "up"),
            ]
        );
        // A fault elsewhere is still seen: not "no answer".
        let (result, _, _) = judge(&f, &checks(&["Te0/0/1"], None));
        assert_eq!(
            result,
            fail(
                "Te0/0/1 down (admin up); sysUpTime.0: undecodable value (tag 0x43: integer too long)"
            )
        );
    }

    #[test]
    fn a_missing_sys_name_is_said() {
        let f = Facts {
            sys_name: Some(Err(MISSING.to_owned())),
            ..facts(router())
        };
        let (result, readings, _) = judge(&f, &checks(&["Te0/0/0"], None));
        assert_eq!(result, ok());
        assert_eq!(
            readings[0],
            Reading::new("sysName", "missing from the answer")
        );
    }

    #[test]
    fn an_undecodable_status_makes_that_interface_unknown() {
        let mut t = router();
        t.interfaces[0].oper = None;
        t.interfaces[0]
            .odd
            .push("ifOperStatus: undecodable value (tag 0x02: empty)".to_owned());
        let (result, readings, _) = judge(&facts(t), &checks(&["Te0/0/0"], None));
        assert_eq!(result, ok());
        assert_eq!(
            readings[2],
            Reading::new(
                "if.Te0/0/0",
                "unknown (ifOperStatus: undecodable value (tag 0x02: empty))"
            )
        );
    }

    /// Two interfaces named `dup` (ifIndex 2 down, 3 up) and `solo` up.
    fn dups() -> Table {
        Table {
            interfaces: vec![
                iface(1, "solo", 1, 1),
                iface(2, "dup", 1, 2),
                iface(3, "dup", 1, 1),
            ],
            ..Table::default()
        }
    }

    #[rstest]
    #[case::each_of_a_repeated_name_watched(dups(), &["dup"], warn("dup[2] down (admin up)"))]
    #[case::ignoring_case_too(dups(), &["DUP"], warn("dup[2] down (admin up)"))]
    #[case::both_down(Table { interfaces: vec![iface(2, "dup", 1, 2), iface(3, "dup", 1, 7)], ..Table::default() },
        &["dup"], fail("all 2 watched interfaces down"))]
    #[case::by_index_picks_one(dups(), &["3"], ok())]
    #[case::repeated_in_config(dups(), &["dup", "dup", "2"], warn("dup[2] down (admin up)"))]
    fn repeated_names(
        #[case] table: Table,
        #[case] interfaces: &[&str],
        #[case] want: CheckResult,
    ) {
        assert_eq!(judge(&facts(table), &checks(interfaces, None)).0, want);
    }

    #[test]
    fn repeated_names_show_their_ifindex() {
        let (_, readings, _) = judge(&facts(dups()), &checks(&[], None));
        assert_eq!(
            names_and_values(&readings)[2..],
            [
                ("if.solo", "up"),
                ("if.dup[2]", "down"),
                ("if.dup[3]", "up")
            ]
        );
    }

    #[test]
    fn a_cut_walk_is_a_warning_and_unread_interfaces_are_unknown() {
        let cut = Table {
            cut: Some("stopped at 4096 rows".to_owned()),
            ..router()
        };
        let (result, readings, _) =
            judge(&facts(cut.clone()), &checks(&["Te0/0/0", "Te9/9/9"], None));
        assert_eq!(
            result,
            warn(
                "interface walk cut after 3 rows: stopped at 4096 rows; \
                 interface Te9/9/9 not among the rows read"
            )
        );
        assert!(
            readings.contains(&Reading::new("if.Te9/9/9", "not read (walk cut)")),
            "{readings:?}"
        );
        // Never OK, even when every row read is fine.
        assert_eq!(
            judge(&facts(cut.clone()), &checks(&["Te0/0/0"], None)).0,
            warn("interface walk cut after 3 rows: stopped at 4096 rows")
        );
        // A fault in the rows read still counts.
        assert_eq!(
            judge(&facts(cut), &checks(&[], None)).0,
            warn("Te0/0/1 down (admin up); interface walk cut after 3 rows: stopped at 4096 rows")
        );
    }

    #[test]
    fn no_if_table_is_said() {
        let (result, readings, _) = judge(&facts(Table::default()), &checks(&[], None));
        assert_eq!(result, ok());
        assert!(
            readings.contains(&Reading::new("if", "none: the agent has no ifTable")),
            "{readings:?}"
        );
        let (result, readings, _) = judge(&facts(Table::default()), &checks(&["Te0/0/1"], None));
        assert_eq!(
            result,
            unknown("watched interfaces unknown: the agent has no ifTable")
        );
        assert!(readings.contains(&Reading::new("if.Te0/0/1", "unknown")));
    }

    #[test]
    fn loads_that_are_not_percents_are_named() {
        let bad = vec!["hrProcessorLoad.769: 250, not a percent".to_owned()];
        let only_bad = Table {
            cpu_bad: bad.clone(),
            ..router()
        };
        assert_eq!(
            judge(&facts(only_bad), &checks(&["Te0/0/0"], Some(85))).0,
            warn("cpu unknown: hrProcessorLoad.769: 250, not a percent")
        );
        let some_bad = Table {
            cpu: vec![40],
            cpu_bad: bad,
            ..router()
        };
        let (result, readings, notes) = judge(&facts(some_bad), &checks(&["Te0/0/0"], Some(85)));
        assert_eq!(result, ok());
        assert!(readings.contains(&Reading::new("cpu.percent", 40)));
        assert_eq!(
            notes,
            ["left out of the cpu average: hrProcessorLoad.769: 250, not a percent"]
        );
    }

    #[rstest]
    #[case::up(1, 1, "up")]
    #[case::down(1, 2, "down")]
    #[case::lower_layer_down(1, 7, "down (lowerLayerDown)")]
    #[case::not_present(1, 6, "down (notPresent)")]
    #[case::admin_down(2, 2, "admin-down")]
    #[case::admin_down_oper_up(2, 1, "admin-down")]
    #[case::dormant(1, 5, "dormant")]
    #[case::testing(3, 2, "testing")]
    #[case::unknown(1, 4, "unknown")]
    fn interface_states(#[case] admin: i64, #[case] oper: i64, #[case] want: &str) {
        let i = iface(1, "x", admin, oper);
        assert_eq!(i.state(), want);
        assert_eq!(i.faulty(), want.starts_with("down"));
    }

    #[test]
    fn table_from_columns_joins_rows_and_keeps_sane_loads() {
        let s = |t: &str| Value::OctetString(t.as_bytes().to_vec());
        let t = Table::from_columns(vec![
            vec![(1, s("lo")), (2, s("eth0"))],
            vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
            vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
            vec![(2, s("e0"))],
            vec![
                (768, Value::Integer(7)),
                (769, Value::Integer(250)),
                (770, Value::Null),
            ],
        ]);
        assert_eq!(t.interfaces.len(), 2);
        assert_eq!(t.interfaces[0].shown(), "lo");
        assert_eq!(t.interfaces[1].shown(), "e0");
        assert_eq!(t.find("eth0").first().map(|i| i.index), Some(2));
        assert_eq!(t.cpu, vec![7]);
        assert_eq!(
            t.cpu_bad,
            [
                "hrProcessorLoad.769: 250, not a percent",
                "hrProcessorLoad.770: not an INTEGER (null)"
            ]
        );
        // Four columns only (no cpu walked): no panic, no loads.
        assert!(
            Table::from_columns(vec![vec![], vec![], vec![], vec![]])
                .cpu
                .is_empty()
        );
    }

    #[test]
    fn an_if_descr_ending_in_nul_matches_the_name_without_it() {
        // A recorded Windows agent: no ifName, ifDescr ends with a NUL.
        let s = |t: &str| Value::OctetString(t.as_bytes().to_vec());
        let t = Table::from_columns(vec![
            vec![
                (1, s("MS TCP Loopback interface\0")),
                (2, s("Intel(R) PRO/1000 MT Network Connection\0\0")),
            ],
            vec![(1, Value::Integer(1)), (2, Value::Integer(1))],
            vec![(1, Value::Integer(1)), (2, Value::Integer(2))],
        ]);
        assert_eq!(
            t.find("MS TCP Loopback interface").first().map(|i| i.index),
            Some(1)
        );
        assert_eq!(
            t.find("ms tcp loopback interface").first().map(|i| i.index),
            Some(1)
        );
        assert_eq!(
            t.find("Intel(R) PRO/1000 MT Network Connection")
                .first()
                .map(|i| i.index),
            Some(2)
        );
        assert_eq!(t.interfaces[0].shown(), "MS TCP Loopback interface");
        let (result, readings, _) = judge(&facts(t), &checks(&["MS TCP Loopback interface"], None));
        assert_eq!(result, CheckResult::Ok, "{readings:?}");
        assert!(
            readings
                .iter()
                .any(|r| r.name == "if.MS TCP Loopback interface" && r.value == "up"),
            "{readings:?}"
        );
    }
}
