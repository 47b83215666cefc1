//! The relay view's keys and the questions asked before a reroute (or a
//! playbook run or abort) is sent: `y` sends it, anything else drops it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Effect, Message, MessageKind, Pane, View};
use crate::engine::{Command, Snapshot};

/// The relay view and its reroutes, each sent only after a yes.
impl App {
    /// Whether a reroute waits for its yes.
    pub fn confirming_relay(&self) -> bool {
        self.confirm_relay.is_some()
    }

    pub(super) fn go_relay(&mut self) {
        if self.view() != View::Relay {
            self.views.push(View::Relay);
        }
        self.history_scroll = 0;
        self.focus = Pane::Main;
    }

    /// Asks before a reroute is sent.
    pub(super) fn ask_relay(&mut self, command: Command) {
        let Command::Relay(c) = &command else {
            return;
        };
        self.message = Some(Message {
            text: crate::console::relay_line::question(c),
            kind: MessageKind::Error,
        });
        self.confirm_relay = Some(command);
    }

    /// `p` on the relay view: pause the selected sink, or resume it.
    pub(super) fn pause_selected(&mut self, snap: &Snapshot) {
        let Some(sink) = snap
            .relay
            .as_ref()
            .and_then(|r| r.sinks.get(self.relay_sel))
        else {
            self.error("no sink selected");
            return;
        };
        let sink_id = sink.id.clone();
        let command = if sink.state == crate::model::relay::SinkState::Paused {
            crate::model::relay::RelayCommand::Resume { sink: sink_id }
        } else {
            crate::model::relay::RelayCommand::Pause { sink: sink_id }
        };
        self.ask_relay(Command::Relay(command));
    }

    /// The key after a reroute's question: `y` sends it, anything else
    /// drops it.
    pub(super) fn on_relay_answer(&mut self, key: &KeyEvent) -> Effect {
        if key.kind == KeyEventKind::Release {
            return Effect::None;
        }
        let Some(command) = self.confirm_relay.take() else {
            return Effect::None;
        };
        if matches!(key.code, KeyCode::Char('y' | 'Y'))
            && !key.modifiers.contains(KeyModifiers::CONTROL)
        {
            return self.send_confirmed(command);
        }
        self.info("not sent");
        Effect::None
    }
}
