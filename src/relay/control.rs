//! What an operator reroutes, as in force: the routes and their sinks,
//! each feed's active source, the paused sinks and the replay requests.
//!
//! One [`Control`] value is the whole state; a command builds a new one
//! and swaps it in whole ([`ControlHandle::apply`]), so a reader (ingest,
//! a sink task) sees the state before or after a command, never half of
//! it. Readers hold a `watch::Receiver<Arc<Control>>`.
//!
//! The state survives restarts in `data_dir/relay/control.json`: moved
//! routes (by route id, sinks by id), active sources and paused sinks.
//! Replay requests are not kept: a sink's saved cursor already says how
//! far the replay got.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::venues::{Feed, Relay, RelayRoute};
use crate::model::relay::{RelayCommand, ReplayFrom, RouteStatus};

use super::odf::Header;

/// The file name under `data_dir/relay/`.
pub const FILE: &str = "control.json";

/// What does not change while the relay runs: the configured sinks,
/// sources, feeds and routes.
#[derive(Debug)]
struct Layout {
    /// Sink ids, in file order.
    sinks: Vec<String>,
    /// Source ids and their feed (an index into `feeds`).
    sources: Vec<(String, Option<usize>)>,
    /// Feeds that have relay sources: id and source indices.
    feeds: Vec<(String, Vec<usize>)>,
    /// Routes as configured.
    routes: Vec<RelayRoute>,
}

impl Layout {
    fn new(relay: &Relay, all_feeds: &[Feed]) -> Layout {
        let mut feeds: Vec<(String, Vec<usize>)> = Vec::new();
        let mut sources = Vec::with_capacity(relay.sources.len());
        for (i, s) in relay.sources.iter().enumerate() {
            let feed = s.feed.and_then(|f| all_feeds.get(f)).map(|f| {
                if let Some(at) = feeds.iter().position(|(id, _)| *id == f.id) {
                    feeds[at].1.push(i);
                    at
                } else {
                    feeds.push((f.id.clone(), vec![i]));
                    feeds.len() - 1
                }
            });
            sources.push((s.id.clone(), feed));
        }
        Layout {
            sinks: relay.sinks.iter().map(|s| s.id.clone()).collect(),
            sources,
            feeds,
            routes: relay.routes.clone(),
        }
    }

    fn sink(&self, id: &str) -> Option<usize> {
        self.sinks.iter().position(|s| s == id)
    }

    fn source(&self, id: &str) -> Option<usize> {
        self.sources.iter().position(|(s, _)| s == id)
    }

    fn feed(&self, id: &str) -> Option<usize> {
        self.feeds.iter().position(|(f, _)| f == id)
    }

    fn route(&self, id: &str) -> Option<usize> {
        self.routes.iter().position(|r| r.id == id)
    }
}

/// A replay asked of one sink: each request raises the generation, so a
/// sink task restarts once per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Replay {
    /// Raised by each request (0: none yet).
    pub generation: u64,
    /// Where the latest request starts.
    pub from: Option<ReplayFrom>,
}

/// A set of sink indices (a bit set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SinkSet(Vec<u64>);

impl SinkSet {
    /// Adds a sink.
    pub fn insert(&mut self, sink: usize) {
        let word = sink / 64;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (sink % 64);
    }

    /// Whether a sink is in it.
    pub fn contains(&self, sink: usize) -> bool {
        self.0
            .get(sink / 64)
            .is_some_and(|w| w & (1 << (sink % 64)) != 0)
    }

    /// Whether it holds no sink.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The sinks, in index order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, bits)| {
            (0..64)
                .filter(move |b| bits & (1 << b) != 0)
                .map(move |b| w * 64 + b)
        })
    }
}

/// The reroutable state in force.
#[derive(Debug, Clone)]
pub struct Control {
    layout: Arc<Layout>,
    /// Per route (as in `layout.routes`): its sinks in force.
    routes: Vec<Vec<usize>>,
    /// Per feed (as in `layout.feeds`): the active source, `None` both.
    active: Vec<Option<usize>>,
    /// Per sink: paused.
    paused: Vec<bool>,
    /// Per sink: the latest replay request.
    replay: Vec<Replay>,
}

impl Control {
    /// The state the configuration gives: every route to its configured
    /// sinks, both sources of every feed, nothing paused.
    pub fn from_config(relay: &Relay, feeds: &[Feed]) -> Control {
        let layout = Arc::new(Layout::new(relay, feeds));
        let n_sinks = layout.sinks.len();
        Control {
            routes: layout.routes.iter().map(|r| r.sinks.clone()).collect(),
            active: vec![None; layout.feeds.len()],
            paused: vec![false; n_sinks],
            replay: vec![Replay::default(); n_sinks],
            layout,
        }
    }

    /// The feed a source belongs to, if any.
    pub fn feed_of(&self, source: &str) -> Option<&str> {
        let (_, feed) = self.layout.sources.iter().find(|(s, _)| s == source)?;
        feed.map(|f| self.layout.feeds[f].0.as_str())
    }

    /// Whether a message from `source` (of `feed`, or the feed the
    /// configuration gives it when `None`) is from a feed's standby
    /// source: the feed has an active source and it is another one.
    pub fn standby(&self, source: &str, feed: Option<&str>) -> bool {
        let Some(feed) = feed.or_else(|| self.feed_of(source)) else {
            return false;
        };
        let Some(f) = self.layout.feed(feed) else {
            return false;
        };
        self.active[f].is_some_and(|a| self.layout.sources[a].0 != source)
    }

    fn route_matches(
        route: &RelayRoute,
        feed: Option<&str>,
        header: &Header,
        source: &str,
    ) -> bool {
        route
            .discipline
            .as_deref()
            .is_none_or(|d| d.eq_ignore_ascii_case(header.discipline()))
            && route
                .document_type
                .as_deref()
                .is_none_or(|t| t == header.key.document_type)
            && route.feed.as_deref().is_none_or(|f| Some(f) == feed)
            && route.source.as_deref().is_none_or(|s| s == source)
    }

    /// The sinks a message goes to: the union of the sinks of every
    /// route it matches. `feed` is the source's feed (`None`: the one the
    /// configuration gives it).
    pub fn targets(&self, feed: Option<&str>, header: &Header, source: &str) -> SinkSet {
        let feed = feed.or_else(|| self.feed_of(source));
        let mut set = SinkSet::default();
        for (route, sinks) in self.layout.routes.iter().zip(&self.routes) {
            if Self::route_matches(route, feed, header, source) {
                for s in sinks {
                    set.insert(*s);
                }
            }
        }
        set
    }

    /// Whether a message goes to one sink (what a sink task asks of each
    /// message; allocates nothing).
    pub fn routes_to(&self, sink: usize, header: &Header, source: &str) -> bool {
        let feed = self.feed_of(source);
        self.layout
            .routes
            .iter()
            .zip(&self.routes)
            .any(|(r, sinks)| sinks.contains(&sink) && Self::route_matches(r, feed, header, source))
    }

    /// Whether a sink is paused.
    pub fn paused(&self, sink: usize) -> bool {
        self.paused.get(sink).copied().unwrap_or(false)
    }

    /// A sink's latest replay request.
    pub fn replay(&self, sink: usize) -> Replay {
        self.replay.get(sink).copied().unwrap_or_default()
    }

    /// A sink's index by id.
    pub fn sink_index(&self, id: &str) -> Option<usize> {
        self.layout.sink(id)
    }

    /// Each feed with relay sources and its active source (`None`: both).
    pub fn active(&self) -> Vec<(String, Option<String>)> {
        self.layout
            .feeds
            .iter()
            .zip(&self.active)
            .map(|((f, _), a)| (f.clone(), a.map(|s| self.layout.sources[s].0.clone())))
            .collect()
    }

    /// The routes as in force, for the status.
    pub fn route_status(&self) -> Vec<RouteStatus> {
        self.layout
            .routes
            .iter()
            .zip(&self.routes)
            .map(|(r, sinks)| RouteStatus {
                id: r.id.clone(),
                matches: matches_in_words(r),
                sinks: sinks
                    .iter()
                    .map(|s| self.layout.sinks[*s].clone())
                    .collect(),
            })
            .collect()
    }

    /// The state after a command, and what was done in one line; or why
    /// it is refused. Pure: the caller swaps it in.
    pub fn applied(&self, cmd: &RelayCommand) -> Result<(Control, String), String> {
        let l = &self.layout;
        let mut next = self.clone();
        match cmd {
            RelayCommand::Source { feed, source } => {
                let f = l
                    .feed(feed)
                    .ok_or_else(|| format!("no feed {feed} with relay sources"))?;
                let s = match source {
                    None => None,
                    Some(id) => {
                        let s = l.source(id).ok_or_else(|| format!("no source {id}"))?;
                        if !l.feeds[f].1.contains(&s) {
                            return Err(format!("source {id} is not a source of feed {feed}"));
                        }
                        Some(s)
                    }
                };
                next.active[f] = s;
            }
            RelayCommand::Route { route, sinks } => {
                let r = l.route(route).ok_or_else(|| format!("no route {route}"))?;
                if sinks.is_empty() {
                    return Err(format!("route {route} needs at least one sink"));
                }
                let mut to = Vec::with_capacity(sinks.len());
                for id in sinks {
                    let s = l.sink(id).ok_or_else(|| format!("no sink {id}"))?;
                    if !to.contains(&s) {
                        to.push(s);
                    }
                }
                next.routes[r] = to;
            }
            RelayCommand::Pause { sink } => {
                let s = l.sink(sink).ok_or_else(|| format!("no sink {sink}"))?;
                if next.paused[s] {
                    return Err(format!("sink {sink} is already paused"));
                }
                next.paused[s] = true;
            }
            RelayCommand::Resume { sink } => {
                let s = l.sink(sink).ok_or_else(|| format!("no sink {sink}"))?;
                if !next.paused[s] {
                    return Err(format!("sink {sink} is not paused"));
                }
                next.paused[s] = false;
            }
            RelayCommand::Replay { sink, from } => {
                let s = l.sink(sink).ok_or_else(|| format!("no sink {sink}"))?;
                if let ReplayFrom::Seq(0) = from {
                    return Err("journal sequence numbers start at 1".to_owned());
                }
                next.replay[s] = Replay {
                    generation: next.replay[s].generation + 1,
                    from: Some(*from),
                };
            }
        }
        Ok((next, cmd.to_string()))
    }

    fn saved(&self) -> Saved {
        let l = &self.layout;
        let routes = l
            .routes
            .iter()
            .zip(&self.routes)
            .filter(|(r, now)| r.sinks != **now)
            .map(|(r, now)| {
                (
                    r.id.clone(),
                    now.iter().map(|s| l.sinks[*s].clone()).collect(),
                )
            })
            .collect();
        let active = l
            .feeds
            .iter()
            .zip(&self.active)
            .filter_map(|((f, _), a)| a.map(|s| (f.clone(), l.sources[s].0.clone())))
            .collect();
        let paused = l
            .sinks
            .iter()
            .zip(&self.paused)
            .filter(|(_, p)| **p)
            .map(|(s, _)| s.clone())
            .collect();
        Saved {
            version: 1,
            routes,
            active,
            paused,
        }
    }

    /// This state with what a saved file says, where it still fits the
    /// configuration; one warning line per thing ignored.
    fn with_saved(mut self, saved: &Saved) -> (Control, Vec<String>) {
        let mut warnings = Vec::new();
        let l = Arc::clone(&self.layout);
        for (route, sinks) in &saved.routes {
            let Some(r) = l.route(route) else {
                warnings.push(format!(
                    "{FILE}: route {route} is no longer configured; its move is dropped"
                ));
                continue;
            };
            let found: Option<Vec<usize>> = sinks.iter().map(|s| l.sink(s)).collect();
            match found {
                Some(to) if !to.is_empty() => self.routes[r] = to,
                _ => warnings.push(format!(
                    "{FILE}: route {route} names a sink no longer configured ({}); it keeps its configured sinks",
                    sinks.join(", ")
                )),
            }
        }
        for (feed, source) in &saved.active {
            match (l.feed(feed), l.source(source)) {
                (Some(f), Some(s)) if l.feeds[f].1.contains(&s) => self.active[f] = Some(s),
                _ => warnings.push(format!(
                    "{FILE}: feed {feed} with source {source} is no longer configured; both sources are accepted"
                )),
            }
        }
        for sink in &saved.paused {
            match l.sink(sink) {
                Some(s) => self.paused[s] = true,
                None => warnings.push(format!("{FILE}: sink {sink} is no longer configured")),
            }
        }
        (self, warnings)
    }
}

fn matches_in_words(r: &RelayRoute) -> String {
    let mut out = String::new();
    for (name, v) in [
        ("discipline", &r.discipline),
        ("document_type", &r.document_type),
        ("feed", &r.feed),
        ("source", &r.source),
    ] {
        if let Some(v) = v {
            if !out.is_empty() {
                out.push(' ');
            }
            let _ = write!(out, "{name}={v}");
        }
    }
    if out.is_empty() {
        out.push_str("everything");
    }
    out
}

/// `control.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    version: u32,
    /// Moved routes: route id -> sink ids.
    #[serde(default)]
    routes: BTreeMap<String, Vec<String>>,
    /// Feeds with one active source: feed id -> source id.
    #[serde(default)]
    active: BTreeMap<String, String>,
    /// Paused sink ids.
    #[serde(default)]
    paused: Vec<String>,
}

/// The writer of the control state: applies commands one at a time,
/// saves, then publishes.
#[derive(Debug)]
pub struct ControlHandle {
    tx: watch::Sender<Arc<Control>>,
    path: Option<PathBuf>,
    writing: Mutex<()>,
}

impl ControlHandle {
    /// The state from the configuration, then what `data_dir/relay/
    /// control.json` says where it still fits (no data folder: nothing is
    /// saved). Returns warning lines for what the file said that no longer
    /// fits, or for a file that cannot be read.
    pub fn open(
        relay: &Relay,
        feeds: &[Feed],
        data_dir: Option<&Path>,
    ) -> (ControlHandle, Vec<String>) {
        let base = Control::from_config(relay, feeds);
        let path = data_dir.map(|d| d.join("relay").join(FILE));
        let (control, warnings) = match path.as_deref().map(std::fs::read) {
            None => (base, Vec::new()),
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => (base, Vec::new()),
            Some(Err(e)) => (
                base,
                vec![format!(
                    "{FILE}: cannot read it ({e}); the configuration is in force"
                )],
            ),
            Some(Ok(bytes)) => match serde_json::from_slice::<Saved>(&bytes) {
                Ok(saved) => base.with_saved(&saved),
                Err(e) => (
                    base,
                    vec![format!(
                        "{FILE}: not readable ({e}); the configuration is in force"
                    )],
                ),
            },
        };
        let (tx, _) = watch::channel(Arc::new(control));
        (
            ControlHandle {
                tx,
                path,
                writing: Mutex::new(()),
            },
            warnings,
        )
    }

    /// A reader of the state in force.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Control>> {
        self.tx.subscribe()
    }

    /// The state in force.
    pub fn current(&self) -> Arc<Control> {
        Arc::clone(&self.tx.borrow())
    }

    /// Applies a command: validates it, saves the new state (temp file,
    /// fsync, rename) and swaps it in whole. `Ok` is what was done in one
    /// line, `Err` why it was refused (nothing changed). Writes a small
    /// file: call it off the engine task.
    pub fn apply(&self, cmd: &RelayCommand) -> Result<String, String> {
        let _one_at_a_time = self.writing.lock().unwrap_or_else(PoisonError::into_inner);
        let (next, done) = self.current().applied(cmd)?;
        if let Some(path) = &self.path {
            save(path, &next.saved())
                .map_err(|e| format!("cannot save {}: {e}", path.display()))?;
        }
        self.tx.send_replace(Arc::new(next));
        Ok(done)
    }
}

fn save(path: &Path, saved: &Saved) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(saved).map_err(std::io::Error::other)?;
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests;
