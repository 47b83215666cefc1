//! The one table of key bindings. A key press becomes an [`Action`]
//! through [`lookup`]; the help screen and the footer are generated from
//! [`BINDINGS`], so what they say is what the keys do.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Everywhere, unless a modal context (text input) is active.
    Global,
    /// The wall of venue tiles.
    Wall,
    /// One venue: its devices, groups and feeds.
    Venue,
    /// One device in detail.
    Device,
    /// The list of open incidents.
    Incidents,
    /// One incident in detail, with its timeline.
    Incident,
    /// The audit: the newest commands and what came of them.
    Audit,
    /// The event ticker.
    Ticker,
    /// The result relay.
    Relay,
    /// One playbook run: its steps.
    Run,
    /// Every playbook run.
    Runs,
    /// A dry-run's plan, over the screen.
    Plan,
    /// The help screen.
    Help,
    /// Typing a filter (`/`) or a command (`:`). Modal: global keys do
    /// not apply, every other key is text.
    Input,
}

impl Context {
    /// Every context, in the order the help screen lists them.
    pub const ALL: [Context; 14] = [
        Context::Global,
        Context::Wall,
        Context::Venue,
        Context::Device,
        Context::Incidents,
        Context::Incident,
        Context::Audit,
        Context::Relay,
        Context::Run,
        Context::Runs,
        Context::Plan,
        Context::Ticker,
        Context::Help,
        Context::Input,
    ];

    /// Title in the help screen.
    pub const fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Wall => "Wall",
            Context::Venue => "Venue",
            Context::Device => "Device",
            Context::Incidents => "Incidents",
            Context::Incident => "Incident",
            Context::Audit => "Audit",
            Context::Ticker => "Events",
            Context::Relay => "Relay",
            Context::Run => "Playbook run",
            Context::Runs => "Playbook runs",
            Context::Plan => "Dry-run plan",
            Context::Help => "Help",
            Context::Input => "Typing a filter or a command",
        }
    }

    /// Whether global bindings are off while this context is active.
    pub const fn is_modal(self) -> bool {
        matches!(self, Context::Input)
    }
}

/// What a key asks the console to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Leave the console.
    Quit,
    /// Show or hide the help screen.
    Help,
    /// Start typing a filter.
    Filter,
    /// Start typing a command.
    CommandLine,
    /// Close, clear or go back one level.
    Back,
    /// Focus the next pane.
    NextPane,
    /// Focus the previous pane.
    PrevPane,
    /// Move the selection up.
    Up,
    /// Move the selection down.
    Down,
    /// Move the selection left.
    Left,
    /// Move the selection right.
    Right,
    /// Jump to the first item.
    Top,
    /// Jump to the last item.
    Bottom,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// Open the selected item.
    Open,
    /// Switch the sort order.
    Sort,
    /// Demo: the next fault on the selected venue.
    DemoFault,
    /// Demo: clear faults of the selected venue or device.
    DemoClear,
    /// Apply the text typed.
    Submit,
    /// Drop the text typed.
    Cancel,
    /// Delete the character before the cursor.
    DeleteChar,
    /// Complete the word typed.
    Complete,
    /// Type a character (any key without a binding in [`Context::Input`]).
    Insert(char),
    /// On the wall: a capital letter of a venue code (typing `STA` selects
    /// STA).
    Jump(char),
    /// Check the device on screen now.
    CheckNow,
    /// Acknowledge the selected incident (the command line, filled in).
    Acknowledge,
    /// Add a note to the selected incident (the command line, filled in).
    AddNote,
    /// Resolve the selected incident (the command line, filled in).
    Resolve,
    /// Go to the selected incident's device or venue.
    GoTo,
    /// Show every incident, those not acknowledged, those acknowledged,
    /// those acknowledged by me (in turn).
    IncidentView,
    /// Open the result relay view.
    Relay,
    /// Pause the selected relay sink, or resume it (after a yes).
    PauseSink,
    /// Run the incident's best playbook (after a yes).
    RunPlaybook,
    /// Dry-run the incident's best playbook.
    DryRunPlaybook,
    /// Open the incident's active run.
    OpenRun,
}

impl Action {
    /// The least role whose commands this key sends, if it sends one:
    /// the console offers it only to that role and above (the engine
    /// decides all the same).
    pub const fn needs(self) -> Option<crate::engine::Role> {
        use crate::engine::Role;
        match self {
            Action::Acknowledge | Action::Resolve => Some(Role::DutyManager),
            Action::DemoFault | Action::DemoClear | Action::PauseSink | Action::RunPlaybook => {
                Some(Role::Operator)
            }
            Action::AddNote | Action::CheckNow | Action::DryRunPlaybook => Some(Role::Technician),
            _ => None,
        }
    }

    /// Whether `role` may use it.
    pub fn allowed(self, role: crate::engine::Role) -> bool {
        self.needs().is_none_or(|needed| role >= needed)
    }
}

/// One key with its modifiers, as bound in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Control or Alt (Shift is part of the character).
    pub mods: KeyModifiers,
}

impl Key {
    /// A key without modifiers.
    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }

    /// A character key without modifiers.
    pub const fn ch(c: char) -> Self {
        Key::plain(KeyCode::Char(c))
    }

    /// A character key with Control.
    pub const fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            mods: KeyModifiers::CONTROL,
        }
    }

    /// The key of a terminal key event, normalised: Shift is dropped from
    /// characters (`G` is `G`) and from Shift-Tab.
    pub fn from_event(event: &KeyEvent) -> Self {
        let mut mods = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        if matches!(code, KeyCode::BackTab) {
            mods = KeyModifiers::NONE;
        }
        Key { code, mods }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One line of the binding table.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys (any of them).
    pub keys: &'static [Key],
    /// Where it applies.
    pub context: Context,
    /// What it does.
    pub action: Action,
    /// One line for the help screen.
    pub description: &'static str,
    /// One word for the footer; empty keeps it out of the footer.
    pub short: &'static str,
    /// Only in a demo (`toc demo`): hidden and off otherwise.
    pub demo: bool,
}

impl Binding {
    /// The keys as shown to the operator (`j ↓`).
    pub fn keys_text(&self) -> String {
        let keys: Vec<String> = self.keys.iter().map(ToString::to_string).collect();
        keys.join(" ")
    }
}

const fn bind(
    context: Context,
    keys: &'static [Key],
    action: Action,
    description: &'static str,
    short: &'static str,
) -> Binding {
    Binding {
        keys,
        context,
        action,
        description,
        short,
        demo: false,
    }
}

const fn demo(
    context: Context,
    keys: &'static [Key],
    action: Action,
    description: &'static str,
    short: &'static str,
) -> Binding {
    Binding {
        demo: true,
        ..bind(context, keys, action, description, short)
    }
}

const UP: &[Key] = &[Key::plain(KeyCode::Up), Key::ch('k')];
const DOWN: &[Key] = &[Key::plain(KeyCode::Down), Key::ch('j')];
const LEFT: &[Key] = &[Key::plain(KeyCode::Left), Key::ch('h')];
const RIGHT: &[Key] = &[Key::plain(KeyCode::Right), Key::ch('l')];
const TOP: &[Key] = &[Key::plain(KeyCode::Home), Key::ch('g')];
const BOTTOM: &[Key] = &[Key::plain(KeyCode::End), Key::ch('G')];
const PAGE_UP: &[Key] = &[Key::plain(KeyCode::PageUp)];
const PAGE_DOWN: &[Key] = &[Key::plain(KeyCode::PageDown)];
const ENTER: &[Key] = &[Key::plain(KeyCode::Enter)];

/// Every binding of the console: context, keys, action, description
/// (help), short word (footer; empty = not in the footer).
#[rustfmt::skip]
pub static BINDINGS: &[Binding] = &[
    // Everywhere.
    bind(Context::Global, &[Key::ch('?')], Action::Help, "show or hide this help", "help"),
    bind(Context::Global, &[Key::ch('/')], Action::Filter, "filter venues and devices (status:down role:core-switch …)", "filter"),
    bind(Context::Global, &[Key::ch(':')], Action::CommandLine, "type a command (:venue STA, :incidents, :help …)", "command"),
    bind(Context::Global, &[Key::plain(KeyCode::Esc)], Action::Back, "back one level, close help, clear the filter", "back"),
    bind(Context::Global, &[Key::plain(KeyCode::Tab)], Action::NextPane, "next pane: main, incidents, host, events", "pane"),
    bind(Context::Global, &[Key::plain(KeyCode::BackTab)], Action::PrevPane, "previous pane", ""),
    bind(Context::Global, &[Key::ch('q'), Key::ctrl('c')], Action::Quit, "quit (toc demo and toc run stop with it)", "quit"),
    // Wall.
    bind(Context::Wall, UP, Action::Up, "select the venue above", ""),
    bind(Context::Wall, DOWN, Action::Down, "select the venue below", ""),
    bind(Context::Wall, LEFT, Action::Left, "select the venue to the left", ""),
    bind(Context::Wall, RIGHT, Action::Right, "select the venue to the right", ""),
    bind(Context::Wall, TOP, Action::Top, "first venue", ""),
    bind(Context::Wall, &[Key::plain(KeyCode::End)], Action::Bottom, "last venue", ""),
    bind(Context::Wall, PAGE_UP, Action::PageUp, "previous page of venues", ""),
    bind(Context::Wall, PAGE_DOWN, Action::PageDown, "next page of venues", ""),
    bind(Context::Wall, ENTER, Action::Open, "open the selected venue", "open"),
    bind(Context::Wall, &[Key::ch('s')], Action::Sort, "sort worst first or by code", "sort"),
    bind(Context::Wall, &[Key::ch('r')], Action::Relay, "the result relay: sources, sinks, latency, recent messages", "relay"),
    demo(Context::Wall, &[Key::ch('f')], Action::DemoFault, "next fault on the selected venue, from the faults it has: core A, core B, uplink, all clear", "fault"),
    demo(Context::Wall, &[Key::ch('x')], Action::DemoClear, "clear the faults of the selected venue", "clear"),
    // Venue.
    bind(Context::Venue, UP, Action::Up, "select the device above", ""),
    bind(Context::Venue, DOWN, Action::Down, "select the device below", ""),
    bind(Context::Venue, TOP, Action::Top, "first device", ""),
    bind(Context::Venue, BOTTOM, Action::Bottom, "last device", ""),
    bind(Context::Venue, PAGE_UP, Action::PageUp, "previous page of devices", ""),
    bind(Context::Venue, PAGE_DOWN, Action::PageDown, "next page of devices", ""),
    bind(Context::Venue, ENTER, Action::Open, "open the selected device", "open"),
    bind(Context::Venue, &[Key::ch('s')], Action::Sort, "sort devices worst first or by id", "sort"),
    demo(Context::Venue, &[Key::ch('f')], Action::DemoFault, "next fault on this venue, from the faults it has: core A, core B, uplink, all clear", "fault"),
    demo(Context::Venue, &[Key::ch('x')], Action::DemoClear, "clear the faults of the selected device", "clear"),
    // Device.
    bind(Context::Device, UP, Action::Up, "scroll the history up", ""),
    bind(Context::Device, DOWN, Action::Down, "scroll the history down", ""),
    bind(Context::Device, TOP, Action::Top, "newest result", ""),
    bind(Context::Device, BOTTOM, Action::Bottom, "oldest result", ""),
    bind(Context::Device, PAGE_UP, Action::PageUp, "newer page of results", ""),
    bind(Context::Device, PAGE_DOWN, Action::PageDown, "older page of results", ""),
    bind(Context::Device, &[Key::ch('c')], Action::CheckNow, "check this device now (its result shows here and in its history)", "check"),
    demo(Context::Device, &[Key::ch('x')], Action::DemoClear, "clear the faults of this device", "clear"),
    // Incidents.
    bind(Context::Incidents, UP, Action::Up, "select the incident above", ""),
    bind(Context::Incidents, DOWN, Action::Down, "select the incident below", ""),
    bind(Context::Incidents, TOP, Action::Top, "first incident", ""),
    bind(Context::Incidents, BOTTOM, Action::Bottom, "last incident", ""),
    bind(Context::Incidents, PAGE_UP, Action::PageUp, "previous page", ""),
    bind(Context::Incidents, PAGE_DOWN, Action::PageDown, "next page", ""),
    bind(Context::Incidents, ENTER, Action::Open, "open the incident: its state and timeline", "open"),
    bind(Context::Incidents, &[Key::ch('a')], Action::Acknowledge, "acknowledge it (duty managers): type the comment, `for 2h` first for an expiry", "ack"),
    bind(Context::Incidents, &[Key::ch('n')], Action::AddNote, "add a note to its timeline", "note"),
    bind(Context::Incidents, &[Key::ch('r')], Action::Resolve, "resolve it, once its condition is clear (duty managers)", "resolve"),
    bind(Context::Incidents, &[Key::ch('d')], Action::GoTo, "go to its device or venue", "device"),
    bind(Context::Incidents, &[Key::ch('o')], Action::IncidentView, "show every incident, those not acknowledged, acknowledged, or acknowledged by me, in turn (the / filter narrows the list too)", "show"),
    // One incident.
    bind(Context::Incident, UP, Action::Up, "scroll the timeline up", ""),
    bind(Context::Incident, DOWN, Action::Down, "scroll the timeline down", ""),
    bind(Context::Incident, TOP, Action::Top, "first entry", ""),
    bind(Context::Incident, BOTTOM, Action::Bottom, "newest entry", ""),
    bind(Context::Incident, PAGE_UP, Action::PageUp, "previous page", ""),
    bind(Context::Incident, PAGE_DOWN, Action::PageDown, "next page", ""),
    bind(Context::Incident, &[Key::ch('a')], Action::Acknowledge, "acknowledge it (duty managers): type the comment, `for 2h` first for an expiry", "ack"),
    bind(Context::Incident, &[Key::ch('n')], Action::AddNote, "add a note to its timeline", "note"),
    bind(Context::Incident, &[Key::ch('r')], Action::Resolve, "resolve it, once its condition is clear (duty managers)", "resolve"),
    bind(Context::Incident, &[Key::ch('d')], Action::GoTo, "go to its device or venue", "device"),
    bind(Context::Incident, &[Key::ch('R')], Action::RunPlaybook, "run the first playbook that matches it (asks first)", ""),
    bind(Context::Incident, &[Key::ch('D')], Action::DryRunPlaybook, "dry-run the first playbook that matches it: what each step would do", ""),
    bind(Context::Incident, ENTER, Action::OpenRun, "open its playbook run (the active one, else the newest)", ""),
    // Audit.
    bind(Context::Audit, UP, Action::Up, "a newer command", ""),
    bind(Context::Audit, DOWN, Action::Down, "an older command", ""),
    bind(Context::Audit, TOP, Action::Top, "newest command", ""),
    bind(Context::Audit, BOTTOM, Action::Bottom, "oldest command", ""),
    bind(Context::Audit, PAGE_UP, Action::PageUp, "newer page", ""),
    bind(Context::Audit, PAGE_DOWN, Action::PageDown, "older page", ""),
    // Relay.
    bind(Context::Relay, UP, Action::Up, "select the sink above", ""),
    bind(Context::Relay, DOWN, Action::Down, "select the sink below", ""),
    bind(Context::Relay, PAGE_UP, Action::PageUp, "previous page of feeds", ""),
    bind(Context::Relay, PAGE_DOWN, Action::PageDown, "next page of feeds", ""),
    bind(Context::Relay, &[Key::ch('p')], Action::PauseSink, "pause the selected sink, or resume it (asks first)", "pause/resume"),
    // A playbook run.
    bind(Context::Run, UP, Action::Up, "scroll the steps up", ""),
    bind(Context::Run, DOWN, Action::Down, "scroll the steps down", ""),
    bind(Context::Run, TOP, Action::Top, "first step", ""),
    bind(Context::Run, BOTTOM, Action::Bottom, "last step", ""),
    // Every run.
    bind(Context::Runs, UP, Action::Up, "select the run above", ""),
    bind(Context::Runs, DOWN, Action::Down, "select the run below", ""),
    bind(Context::Runs, TOP, Action::Top, "first run", ""),
    bind(Context::Runs, BOTTOM, Action::Bottom, "last run", ""),
    bind(Context::Runs, ENTER, Action::Open, "open the selected run: its steps", "open"),
    // A dry-run's plan.
    bind(Context::Plan, UP, Action::Up, "scroll up", ""),
    bind(Context::Plan, DOWN, Action::Down, "scroll down", ""),
    bind(Context::Plan, PAGE_UP, Action::PageUp, "page up", ""),
    bind(Context::Plan, PAGE_DOWN, Action::PageDown, "page down", ""),
    // Events.
    bind(Context::Ticker, UP, Action::Up, "select a newer event", ""),
    bind(Context::Ticker, DOWN, Action::Down, "select an older event", ""),
    bind(Context::Ticker, TOP, Action::Top, "newest event", ""),
    bind(Context::Ticker, BOTTOM, Action::Bottom, "oldest event", ""),
    bind(Context::Ticker, PAGE_UP, Action::PageUp, "newer page", ""),
    bind(Context::Ticker, PAGE_DOWN, Action::PageDown, "older page", ""),
    bind(Context::Ticker, ENTER, Action::Open, "go to the event's device or venue", "go to"),
    // Help.
    bind(Context::Help, UP, Action::Up, "scroll up", ""),
    bind(Context::Help, DOWN, Action::Down, "scroll down", ""),
    bind(Context::Help, TOP, Action::Top, "top", ""),
    bind(Context::Help, BOTTOM, Action::Bottom, "bottom", ""),
    bind(Context::Help, PAGE_UP, Action::PageUp, "page up", ""),
    bind(Context::Help, PAGE_DOWN, Action::PageDown, "page down", ""),
    // Typing.
    bind(Context::Input, ENTER, Action::Submit, "apply", "apply"),
    bind(Context::Input, &[Key::plain(KeyCode::Esc)], Action::Cancel, "cancel (a filter is cleared)", "cancel"),
    bind(Context::Input, &[Key::plain(KeyCode::Backspace)], Action::DeleteChar, "delete the last character", ""),
    bind(Context::Input, &[Key::plain(KeyCode::Tab)], Action::Complete, "complete a command, venue code or device id", "complete"),
    bind(Context::Input, &[Key::ctrl('c')], Action::Quit, "quit the console", ""),
];

/// The bindings in force in `context` (global ones too unless it is
/// modal), context ones first; demo bindings only when `demo`.
pub fn active(context: Context, demo: bool) -> impl Iterator<Item = &'static Binding> {
    let global = !context.is_modal() && context != Context::Global;
    BINDINGS
        .iter()
        .filter(move |b| b.context == context)
        .chain(
            BINDINGS
                .iter()
                .filter(move |b| global && b.context == Context::Global),
        )
        .filter(move |b| demo || !b.demo)
}

/// The bindings [`active`] in `context` that `role` may use: what the
/// footer and the help offer.
pub fn offered(
    context: Context,
    demo: bool,
    role: crate::engine::Role,
) -> impl Iterator<Item = &'static Binding> {
    active(context, demo).filter(move |b| b.action.allowed(role))
}

/// The action for `key` in `context`; `None` when the key does nothing
/// there. In [`Context::Input`] any other printable character is typed.
pub fn lookup(context: Context, key: Key, demo: bool) -> Option<Action> {
    if let Some(binding) = active(context, demo).find(|b| b.keys.contains(&key)) {
        return Some(binding.action);
    }
    match (context, key.code) {
        (Context::Input, KeyCode::Char(c))
            if !key
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(Action::Insert(c))
        }
        (Context::Wall, KeyCode::Char(c))
            if c.is_ascii_uppercase()
                && !key
                    .mods
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            Some(Action::Jump(c))
        }
        _ => None,
    }
}

/// The action for a terminal key event (presses and repeats only).
pub fn lookup_event(context: Context, event: &KeyEvent, demo: bool) -> Option<Action> {
    if event.kind == KeyEventKind::Release {
        return None;
    }
    lookup(context, Key::from_event(event), demo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn press(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn no_two_bindings_collide_in_a_context_or_with_global() {
        for context in Context::ALL {
            let mut seen: HashMap<Key, &str> = HashMap::new();
            for binding in active(context, true) {
                for key in binding.keys {
                    if let Some(other) = seen.insert(*key, binding.description) {
                        panic!(
                            "{key} is bound twice in {context:?}: `{other}` and `{}`",
                            binding.description
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_binding_has_keys_and_a_description() {
        for binding in BINDINGS {
            assert!(!binding.keys.is_empty(), "{binding:?}");
            assert!(!binding.description.is_empty(), "{binding:?}");
        }
    }

    #[test]
    fn the_required_keys_exist() {
        let wanted = [
            (Context::Wall, Key::ch('?'), Action::Help),
            (Context::Wall, Key::ch('/'), Action::Filter),
            (Context::Wall, Key::ch(':'), Action::CommandLine),
            (Context::Venue, Key::plain(KeyCode::Esc), Action::Back),
            (Context::Wall, Key::plain(KeyCode::Tab), Action::NextPane),
            (Context::Device, Key::ch('q'), Action::Quit),
            (Context::Device, Key::ctrl('c'), Action::Quit),
            (Context::Input, Key::ctrl('c'), Action::Quit),
            (Context::Wall, Key::ch('k'), Action::Up),
            (Context::Wall, Key::plain(KeyCode::Down), Action::Down),
            (Context::Wall, Key::ch('h'), Action::Left),
            (Context::Wall, Key::ch('l'), Action::Right),
            (Context::Wall, Key::plain(KeyCode::Enter), Action::Open),
            (Context::Wall, Key::ch('s'), Action::Sort),
            (Context::Venue, Key::ch('g'), Action::Top),
            (Context::Venue, Key::ch('G'), Action::Bottom),
            (Context::Venue, Key::plain(KeyCode::Home), Action::Top),
            (Context::Venue, Key::plain(KeyCode::End), Action::Bottom),
            (
                Context::Incidents,
                Key::plain(KeyCode::PageDown),
                Action::PageDown,
            ),
            (
                Context::Incidents,
                Key::plain(KeyCode::PageUp),
                Action::PageUp,
            ),
            (Context::Incidents, Key::plain(KeyCode::Enter), Action::Open),
        ];
        for (context, key, action) in wanted {
            assert_eq!(
                lookup(context, key, false),
                Some(action),
                "{key} in {context:?}"
            );
        }
    }

    #[test]
    fn demo_bindings_are_off_outside_a_demo() {
        assert_eq!(lookup(Context::Wall, Key::ch('f'), false), None);
        assert_eq!(
            lookup(Context::Wall, Key::ch('f'), true),
            Some(Action::DemoFault)
        );
        assert_eq!(lookup(Context::Venue, Key::ch('x'), false), None);
        assert_eq!(
            lookup(Context::Device, Key::ch('x'), true),
            Some(Action::DemoClear)
        );
        assert!(active(Context::Wall, false).all(|b| !b.demo));
    }

    #[test]
    fn typing_takes_every_character_but_keeps_ctrl_c() {
        for c in ['q', '?', '/', ':', 'j', 'G', ' ', 'é'] {
            assert_eq!(
                lookup(Context::Input, Key::ch(c), false),
                Some(Action::Insert(c))
            );
        }
        assert_eq!(
            lookup(Context::Input, Key::ctrl('c'), false),
            Some(Action::Quit)
        );
        assert_eq!(lookup(Context::Input, Key::ctrl('x'), false), None);
        assert_eq!(
            lookup(Context::Input, Key::plain(KeyCode::Esc), false),
            Some(Action::Cancel)
        );
        assert_eq!(
            lookup(Context::Input, Key::plain(KeyCode::Tab), false),
            Some(Action::Complete)
        );
    }

    #[test]
    fn capitals_on_the_wall_jump_to_a_venue_code() {
        for c in ['S', 'T', 'A', 'G', 'R'] {
            assert_eq!(
                lookup(Context::Wall, Key::ch(c), false),
                Some(Action::Jump(c))
            );
        }
        assert_eq!(
            lookup(Context::Wall, Key::ch('s'), false),
            Some(Action::Sort)
        );
        assert_eq!(lookup(Context::Venue, Key::ch('S'), false), None);
        assert_eq!(
            lookup(Context::Venue, Key::ch('G'), false),
            Some(Action::Bottom)
        );
    }

    #[test]
    fn events_are_normalised() {
        let shifted_g = press(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(
            lookup_event(Context::Venue, &shifted_g, false),
            Some(Action::Bottom)
        );
        let question = press(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(
            lookup_event(Context::Wall, &question, false),
            Some(Action::Help)
        );
        let back_tab = press(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            lookup_event(Context::Wall, &back_tab, false),
            Some(Action::PrevPane)
        );
        let ctrl_c = press(
            KeyCode::Char('C'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(
            lookup_event(Context::Venue, &ctrl_c, false),
            Some(Action::Quit)
        );
        let mut release = press(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(lookup_event(Context::Wall, &release, false), None);
        let unbound = press(KeyCode::F(5), KeyModifiers::NONE);
        assert_eq!(lookup_event(Context::Wall, &unbound, false), None);
    }

    #[test]
    fn keys_read_well() {
        assert_eq!(Key::ctrl('c').to_string(), "Ctrl-c");
        assert_eq!(Key::plain(KeyCode::PageDown).to_string(), "PgDn");
        let quit = BINDINGS
            .iter()
            .find(|b| b.action == Action::Quit && b.context == Context::Global)
            .map(Binding::keys_text);
        assert_eq!(quit.as_deref(), Some("q Ctrl-c"));
    }
}
