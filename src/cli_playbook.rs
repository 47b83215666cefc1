//! `toc playbook list|show|dry-run`: the playbooks of a folder read from
//! the command line, and what one would do for an incident. Reads files
//! only: nothing is probed, sent to the relay, started or stored.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Value, json};
use toc::config::playbook::{OnFailure, Playbook, Step, Trigger, TriggerKind};
use toc::config::{self, Diagnostic, Inventory};
use toc::engine::snapshot::Layout;
use toc::model::{ProblemKind, printable};
use toc::playbook::Context;
use toc::playbook::resolve::{self, NEEDS_APPROVAL};

/// `toc playbook`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

// Doc comments here are `--help` text, read in a terminal: no Markdown.
#[allow(clippy::doc_markdown)]
#[derive(Debug, clap::Subcommand)]
enum What {
    /// Every playbook: id, trigger (kind, role, venue, feed), number of
    /// steps, title.
    List {
        #[command(flatten)]
        files: Files,
        /// A JSON array of playbooks.
        #[arg(long)]
        json: bool,
    },
    /// One playbook in full: its trigger, summary and every step (kind,
    /// target, timeout, on failure, dangerous, instructions).
    Show {
        /// The playbook's id.
        id: String,
        #[command(flatten)]
        files: Files,
    },
    /// What each step of a playbook would do for an incident: the
    /// command, the target, the argv. Does nothing.
    DryRun {
        /// The playbook's id.
        id: String,
        /// The incident's key, as `toc incidents` shows it:
        /// device:STA-ovr-a, group:STA-core, feed:STA-results,
        /// slo:commentators (or device_down:STA-ovr-a). Without it, the
        /// steps are shown with their names as written.
        #[arg(long, value_name = "KEY")]
        incident: Option<String>,
        /// The incident's kind (device_down, redundancy_lost, …) when the
        /// key does not say it; by default the playbook's trigger kind.
        #[arg(long, value_name = "KIND", value_parser = kind, requires = "incident")]
        kind: Option<ProblemKind>,
        #[command(flatten)]
        files: Files,
        /// JSON: the playbook, the incident and each step's work.
        #[arg(long)]
        json: bool,
    },
}

/// Where the playbooks (and the inventory) are.
#[derive(Debug, clap::Args)]
struct Files {
    /// The venues file (its devices, groups, feeds and sinks resolve a
    /// dry-run).
    #[arg(default_value = "venues.toml")]
    file: PathBuf,
    /// The playbook folder (default: playbooks/ beside the venues file).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// `--kind`: a problem kind by its config name.
fn kind(text: &str) -> Result<ProblemKind, String> {
    ProblemKind::ALL
        .into_iter()
        .find(|k| k.config_name() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.config_name()).collect();
            format!(
                "`{text}` is not an incident kind: one of {}",
                names.join(", ")
            )
        })
}

/// Exit status for bad input: an unknown playbook, a bad key, a step
/// that cannot be resolved.
const EXIT_INPUT: u8 = 1;
/// Exit status for an invalid configuration (as `toc check`).
const EXIT_CONFIG: u8 = 2;

/// Why a command failed: already said (diagnostics) or to say.
struct Failure {
    code: u8,
    message: Option<String>,
}

impl Failure {
    fn input(message: String) -> Self {
        Failure {
            code: EXIT_INPUT,
            message: Some(message),
        }
    }
}

/// Runs `toc playbook …`: prints its lines, or says what is wrong on
/// stderr and exits non-zero.
pub fn run(args: Args) -> ExitCode {
    let result = match &args.what {
        What::List { files, json } => load(files).map(|books| list(&books, *json)),
        What::Show { id, files } => load(files).and_then(|books| {
            let book = find(&books, id)?;
            Ok(show(book))
        }),
        What::DryRun {
            id,
            incident,
            kind,
            files,
            json,
        } => load(files).and_then(|books| {
            let book = find(&books, id)?;
            dry_run(book, files, incident.as_deref(), *kind, *json)
        }),
    };
    let (lines, failure) = match result {
        Ok(lines) => (lines, None),
        Err((lines, failure)) => (lines, Some(failure)),
    };
    for line in lines {
        toc::runtime::out::line(format_args!("{}", printable(&line)));
    }
    match failure {
        None => ExitCode::SUCCESS,
        Some(Failure { code, message }) => {
            if let Some(m) = message {
                toc::runtime::out::err(format_args!("toc playbook: {}\n", printable(&m)));
            }
            ExitCode::from(code)
        }
    }
}

/// Lines to print, or those printed before a failure and the failure.
type Printed = Result<Vec<String>, (Vec<String>, Failure)>;

fn fail(message: String) -> (Vec<String>, Failure) {
    (Vec::new(), Failure::input(message))
}

fn config_failure(diags: &[Diagnostic]) -> (Vec<String>, Failure) {
    toc::runtime::out::err(format_args!("{}", config::diag::render(diags)));
    (
        Vec::new(),
        Failure {
            code: EXIT_CONFIG,
            message: Some("fix the errors above (`toc check` shows them all)".to_owned()),
        },
    )
}

/// The playbooks of `--dir`, else of `playbooks/` beside the venues file.
fn load(files: &Files) -> Result<Vec<Playbook>, (Vec<String>, Failure)> {
    let dir = files.dir.clone().unwrap_or_else(|| {
        files
            .file
            .parent()
            .map_or_else(|| PathBuf::from("playbooks"), |p| p.join("playbooks"))
    });
    config::playbook::load_dir(&dir).map_err(|d| config_failure(&d))
}

/// The layout of the venues file.
fn layout(file: &Path) -> Result<Layout, (Vec<String>, Failure)> {
    match Inventory::load(file) {
        Ok((inv, _warnings)) => Ok(Layout::from_inventory(&inv)),
        Err(diags) => Err(config_failure(&diags)),
    }
}

fn find<'a>(books: &'a [Playbook], id: &str) -> Result<&'a Playbook, (Vec<String>, Failure)> {
    books.iter().find(|b| b.id == id).ok_or_else(|| {
        let ids: Vec<&str> = books.iter().map(|b| b.id.as_str()).collect();
        fail(format!(
            "no playbook `{id}` (there are: {})",
            if ids.is_empty() {
                "none".to_owned()
            } else {
                ids.join(", ")
            }
        ))
    })
}

/// `redundancy_lost role=core-switch venue=STA feed=STA-results`.
fn trigger_text(t: &Trigger) -> String {
    let mut s = t.kind.to_string();
    for (what, value) in [("role", &t.role), ("venue", &t.venue), ("feed", &t.feed)] {
        if let Some(v) = value {
            let _ = write!(s, " {what}={v}");
        }
    }
    s
}

fn trigger_json(t: &Trigger) -> Value {
    json!({ "kind": t.kind.name(), "role": t.role, "venue": t.venue, "feed": t.feed })
}

fn list(books: &[Playbook], json: bool) -> Vec<String> {
    if json {
        let all: Vec<Value> = books
            .iter()
            .map(|b| {
                json!({
                    "id": b.id,
                    "title": b.title,
                    "trigger": trigger_json(&b.trigger),
                    "steps": b.steps.len(),
                    "file": b.file.display().to_string(),
                })
            })
            .collect();
        return vec![Value::Array(all).to_string()];
    }
    let rows: Vec<[String; 4]> = books
        .iter()
        .map(|b| {
            [
                b.id.clone(),
                trigger_text(&b.trigger),
                b.steps.len().to_string(),
                b.title.clone(),
            ]
        })
        .collect();
    let head = ["ID", "TRIGGER", "STEPS", "TITLE"].map(str::to_owned);
    let width = |i: usize| {
        rows.iter()
            .chain([&head])
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    std::iter::once(&head)
        .chain(&rows)
        .map(|[id, trigger, steps, title]| {
            format!("{id:<w0$}  {trigger:<w1$}  {steps:>w2$}  {title}")
        })
        .collect()
}

fn show(book: &Playbook) -> Vec<String> {
    let mut out = vec![
        format!("{}: {}", book.id, book.title),
        format!("  file     {}", book.file.display()),
        format!("  trigger  {}", trigger_text(&book.trigger)),
    ];
    for (i, line) in book.summary.lines().enumerate() {
        out.push(format!(
            "  {}  {line}",
            if i == 0 { "summary" } else { "       " }
        ));
    }
    out.push(format!("  steps    {}", book.steps.len()));
    for (i, step) in book.steps.iter().enumerate() {
        show_step(&mut out, i + 1, step);
    }
    out
}

fn show_step(out: &mut Vec<String>, n: usize, step: &Step) {
    out.push(format!(
        "  {n}. {} ({}): {}",
        step.id,
        step.kind(),
        step.title
    ));
    let mut field = |label: &str, value: &str| out.push(format!("       {label:<13}{value}"));
    field("does", &resolve::outline(step));
    let timeout = match (step.timeout, step.timeout()) {
        (Some(t), _) => humantime::format_duration(t).to_string(),
        (None, Some(t)) => format!("{} (default)", humantime::format_duration(t)),
        (None, None) if step.kind().answered_by_person() => "none (waits for a person)".to_owned(),
        (None, None) => "none".to_owned(),
    };
    field("timeout", &timeout);
    let on_failure = match &step.on_failure {
        OnFailure::Stop => "stop".to_owned(),
        OnFailure::Continue => "continue".to_owned(),
        OnFailure::Goto(id) => format!("go to {id}"),
    };
    field("on failure", &on_failure);
    field(
        "dangerous",
        &if step.dangerous {
            format!("yes {NEEDS_APPROVAL}")
        } else {
            "no".to_owned()
        },
    );
    for (i, line) in step.instructions.lines().enumerate() {
        field(if i == 0 { "instructions" } else { "" }, line);
    }
}

/// The incident of `--incident KEY`: the kind from `--kind`, else the
/// key's, else the playbook's trigger kind when it fits the key.
fn context(
    key: &str,
    kind: Option<ProblemKind>,
    trigger: TriggerKind,
    layout: &Layout,
) -> Result<Context, String> {
    if kind.is_some() {
        return Context::from_key(key, kind, layout);
    }
    if let TriggerKind::Problem(k) = trigger
        && let Ok(ctx) = Context::from_key(key, Some(k), layout)
    {
        return Ok(ctx);
    }
    Context::from_key(key, None, layout)
}

fn dry_run(
    book: &Playbook,
    files: &Files,
    key: Option<&str>,
    kind: Option<ProblemKind>,
    json: bool,
) -> Printed {
    let Some(key) = key else {
        let mut out = vec![format!(
            "dry-run of {} with no incident: nothing is done; names as written",
            book.id
        )];
        if json {
            return Ok(vec![dry_run_json(book, None, None).to_string()]);
        }
        out.extend(resolve::dry_run_lines(book, None));
        return Ok(out);
    };
    let layout = layout(&files.file)?;
    let ctx = context(key, kind, book.trigger.kind, &layout).map_err(fail)?;
    let works = resolve::resolve_each(book, &ctx, &layout);
    let mut out = if json {
        vec![dry_run_json(book, Some(&ctx), Some(&works)).to_string()]
    } else {
        let mut out = vec![format!(
            "dry-run of {} on {} ({}): nothing is done",
            book.id,
            ctx.key,
            ctx.kind.config_name()
        )];
        out.extend(resolve::dry_run_lines(book, Some(&works)));
        out
    };
    if resolve::matches(book, &ctx, &layout).is_none() {
        toc::runtime::out::err(format_args!(
            "toc playbook: note: {} is not suggested for {} ({}): its trigger is {}\n",
            printable(&book.id),
            printable(&ctx.key),
            ctx.kind.config_name(),
            printable(&trigger_text(&book.trigger))
        ));
    }
    let first_error = book
        .steps
        .iter()
        .zip(&works)
        .find_map(|(s, w)| w.as_ref().err().map(|e| format!("step {}: {e}", s.id)));
    match first_error {
        None => Ok(out),
        Some(e) => {
            let message = format!("{} cannot run for {}: {e}", book.id, ctx.key);
            Err((std::mem::take(&mut out), Failure::input(message)))
        }
    }
}

fn dry_run_json(
    book: &Playbook,
    ctx: Option<&Context>,
    works: Option<&[Result<toc::playbook::Work, String>]>,
) -> Value {
    let lines = resolve::dry_run_lines(book, works);
    let steps: Vec<Value> = book
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let resolved = works.and_then(|w| w.get(i));
            json!({
                "n": i + 1,
                "id": s.id,
                "kind": s.kind().name(),
                "title": s.title,
                "dangerous": s.dangerous,
                "line": lines.get(i),
                "work": resolved.and_then(|r| r.as_ref().ok()),
                "error": resolved.and_then(|r| r.as_ref().err()),
            })
        })
        .collect();
    json!({
        "playbook": book.id,
        "incident": ctx.map(|c| json!({ "key": c.key, "kind": c.kind.config_name() })),
        "steps": steps,
    })
}
