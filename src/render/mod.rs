//! The reply (design §6): templates filled in, then built with lettre into the exact bytes that
//! will be sent.
//!
//! Templates are minijinja, one file per language and trigger (`templates/es/short-notice.txt`).
//! A file starts with a `Subject:` line (empty = `Re: ` + the original subject), then a blank
//! line, then the body. The built-in set lives in the repository's `templates/` folder and is
//! compiled in; `reply.templates` points to a folder of the freelancer's own, where any file she
//! has not written falls back to the built-in one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, Message};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::calendar::{Counts, Schedule};
use crate::config::{Client, Config, EmergencyAudience, matches_pattern};
use crate::lang::Lang;
use crate::mail::{Inbound, one_line};
use crate::policy::{Assessment, Trigger};
use crate::zone::Zone;

pub mod digest;
mod greet;
mod place;
pub mod say;

use say::Speaker;

/// Why a reply could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template file could not be read.
    #[error("cannot read template {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A template does not parse or does not render.
    #[error("template {name}: {source:#}")]
    Template {
        /// The template's name (`es/short-notice.txt`).
        name: String,
        /// The cause.
        source: minijinja::Error,
    },
    /// A template has no blank line between its `Subject:` line and its body.
    #[error("template {name}: the first line must be \"Subject: …\", followed by a blank line")]
    Layout {
        /// The template's name.
        name: String,
    },
    /// The reply's addresses could not be used.
    #[error("cannot build the reply: {0}")]
    Build(String),
}

/// The built-in templates, by name.
pub const BUILT_IN: [(&str, &str); 6] = [
    (
        "es/outside-hours.txt",
        include_str!("../../templates/es/outside-hours.txt"),
    ),
    (
        "es/short-notice.txt",
        include_str!("../../templates/es/short-notice.txt"),
    ),
    (
        "en/outside-hours.txt",
        include_str!("../../templates/en/outside-hours.txt"),
    ),
    (
        "en/short-notice.txt",
        include_str!("../../templates/en/short-notice.txt"),
    ),
    ("es/away.txt", include_str!("../../templates/es/away.txt")),
    ("en/away.txt", include_str!("../../templates/en/away.txt")),
];

/// The template name for a language and trigger.
pub fn template_name(lang: Lang, trigger: Trigger) -> String {
    format!("{}/{}.txt", lang.code(), trigger.tag())
}

/// The template that answers an assessment: `away` on a day away or a holiday, `short-notice`
/// for short notice within working hours, `outside-hours` otherwise.
pub fn template_for(a: &Assessment) -> Trigger {
    if a.triggers.contains(&Trigger::Away)
        || (a.holiday.is_some() && a.triggers.contains(&Trigger::OutsideHours))
    {
        Trigger::Away
    } else if a.triggers.contains(&Trigger::ShortNotice) && !a.outside_hours {
        Trigger::ShortNotice
    } else {
        Trigger::OutsideHours
    }
}

/// The subject's automatic-reply mark when the config gives none (RFC 3834 §3.1.5 asks for
/// a brief indication; Exchange writes "Automatic reply:").
fn default_prefix(lang: Lang) -> &'static str {
    match lang {
        Lang::Es => "Respuesta automática:",
        Lang::En => "Automatic reply:",
    }
}

/// The loaded, parsed templates.
#[derive(Debug, Clone)]
pub struct Templates {
    env: Environment<'static>,
    /// Where each template came from: a file, or `None` for built-in.
    pub sources: BTreeMap<String, Option<PathBuf>>,
    /// The sets of the `[[client]]` agreements with a `templates` folder, by client name.
    clients: BTreeMap<String, Templates>,
}

/// One problem `plazo check` finds in a template folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// The file (or `built-in es/away.txt`).
    pub file: String,
    /// The line in it, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
    /// False for a file plazo never reads: `check` reports it, the daemon runs anyway.
    pub fatal: bool,
}

impl std::fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl Templates {
    /// Loads the built-in templates, overridden by the files in `dir` when given.
    pub fn load(dir: Option<&Path>) -> Result<Templates, RenderError> {
        Templates::load_chain(dir.as_slice())
    }

    /// Every set `config` names: `reply.templates` over the built-in one, and for each
    /// `[[client]]` with a `templates` folder, that folder over both.
    pub fn load_for(config: &Config) -> Result<Templates, RenderError> {
        let global = config.reply.templates.as_deref();
        let mut templates = Templates::load(global)?;
        for client in &config.clients {
            if let Some(own) = &client.templates {
                let chain: Vec<&Path> = std::iter::once(own.as_path()).chain(global).collect();
                templates
                    .clients
                    .insert(client.name.clone(), Templates::load_chain(&chain)?);
            }
        }
        Ok(templates)
    }

    /// The set that answers `client`: its own folder's, else the global one.
    pub fn for_client(&self, client: Option<&Client>) -> &Templates {
        client
            .and_then(|c| self.clients.get(&c.name))
            .unwrap_or(self)
    }

    /// The built-in templates, each overridden by the first folder of `dirs` that has its file.
    fn load_chain(dirs: &[&Path]) -> Result<Templates, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        let mut sources = BTreeMap::new();
        for (name, text, path) in sources_of(dirs)? {
            split_template(name, &text)?;
            env.add_template_owned(name.to_string(), text)
                .map_err(|source| RenderError::Template {
                    name: name.to_string(),
                    source,
                })?;
            sources.insert(name.to_string(), path);
        }
        Ok(Templates {
            env,
            sources,
            clients: BTreeMap::new(),
        })
    }

    /// Renders `name` with `context` into (subject, body).
    fn render(&self, name: &str, context: &Context) -> Result<(String, String), RenderError> {
        let err = |source| RenderError::Template {
            name: name.to_string(),
            source,
        };
        let text = self
            .env
            .get_template(name)
            .and_then(|t| t.render(context))
            .map_err(err)?;
        let (subject, body) = split_template(name, &text)?;
        Ok((one_line(subject), tidy(body)))
    }

    /// Every problem of the templates in `dir` (or of the built-in set): files that are not
    /// templates plazo uses, unreadable files, syntax errors, the layout, variables that do
    /// not exist (in any branch), and any render error over [`Context::samples`], which reach
    /// every branch. Each names the file and, when it can, the line.
    pub fn check(dir: Option<&Path>, config: &Config) -> Vec<TemplateProblem> {
        Templates::check_chain(dir.as_slice(), config)
    }

    /// Every problem of the sets `config` names: `reply.templates` (or the built-in set), then
    /// each `[[client]]` folder over it.
    pub fn check_all(config: &Config) -> Vec<TemplateProblem> {
        let global = config.reply.templates.as_deref();
        let mut problems = Templates::check(global, config);
        for client in &config.clients {
            if let Some(own) = &client.templates {
                let chain: Vec<&Path> = std::iter::once(own.as_path()).chain(global).collect();
                problems.extend(Templates::check_chain(&chain, config));
            }
        }
        problems
    }

    /// The sets of the `[[client]]` agreements with a folder of their own, by client name.
    pub fn client_sets(&self) -> impl Iterator<Item = (&str, &Templates)> {
        self.clients.iter().map(|(name, t)| (name.as_str(), t))
    }

    /// The problems of the first folder of `dirs` as it is used over the rest (a client's
    /// folder over `reply.templates`): its unknown files, and the templates it provides; the
    /// files it takes from the others are theirs to report.
    pub fn check_chain(dirs: &[&Path], config: &Config) -> Vec<TemplateProblem> {
        let mut problems = Vec::new();
        if let Some(dir) = dirs.first() {
            problems.extend(unknown_files(dir));
        }
        let sources = match sources_of(dirs) {
            Ok(s) => s,
            Err(e) => {
                problems.push(TemplateProblem {
                    file: dirs
                        .first()
                        .map(|d| d.display().to_string())
                        .unwrap_or_default(),
                    line: None,
                    message: e.to_string(),
                    fatal: true,
                });
                return problems;
            }
        };
        let samples = Context::samples(config);
        // Over another folder, only the first folder's own files are this check's.
        let own = |path: &Option<PathBuf>| match (dirs, path) {
            ([_, _, ..], Some(p)) => p.starts_with(dirs[0]),
            ([_, _, ..], None) => false,
            _ => true,
        };
        for (name, text, path) in sources {
            if !own(&path) {
                continue;
            }
            let file = path.map_or_else(|| format!("built-in {name}"), |p| p.display().to_string());
            let problem = |line: Option<usize>, message: String| TemplateProblem {
                file: file.clone(),
                line,
                message,
                fatal: true,
            };
            if split_template(name, &text).is_err() {
                problems.push(problem(
                    Some(1),
                    "the first line must be \"Subject: …\", followed by a blank line".into(),
                ));
                continue;
            }
            let mut env = Environment::new();
            env.set_undefined_behavior(UndefinedBehavior::Strict);
            if let Err(e) = env.add_template_owned(name.to_string(), text.clone()) {
                let what = e
                    .detail()
                    .map_or_else(|| e.kind().to_string(), str::to_string);
                problems.push(problem(e.line(), format!("syntax error: {what}")));
                continue;
            }
            let Ok(template) = env.get_template(name) else {
                continue;
            };
            let mut unknown: Vec<String> = template
                .undeclared_variables(false)
                .into_iter()
                .filter(|v| !VARIABLES.iter().any(|(n, _, _)| n == v))
                .collect();
            unknown.sort();
            for var in &unknown {
                problems.push(problem(
                    line_of_word(&text, var),
                    format!("unknown variable \"{var}\" (`plazo templates list` shows them all)"),
                ));
            }
            if !unknown.is_empty() {
                continue;
            }
            let mut seen = std::collections::BTreeSet::new();
            for context in &samples {
                if let Err(e) = template.render(context) {
                    let what = e
                        .detail()
                        .map_or_else(|| e.kind().to_string(), str::to_string);
                    if seen.insert((e.line(), what.clone())) {
                        problems.push(problem(e.line(), what));
                    }
                }
            }
        }
        problems
    }
}

/// One template to load: its name, its text, and the file it came from (none for built-in).
type Source = (&'static str, String, Option<PathBuf>);

/// The templates to load, the folder's files over the built-in ones.
fn sources_of(dirs: &[&Path]) -> Result<Vec<Source>, RenderError> {
    BUILT_IN
        .iter()
        .map(|(name, built_in)| {
            let path = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file());
            let text = match &path {
                Some(p) => std::fs::read_to_string(p).map_err(|source| RenderError::Read {
                    path: p.clone(),
                    source,
                })?,
                None => (*built_in).to_string(),
            };
            Ok((*name, text, path))
        })
        .collect()
}

/// Files and folders in a template folder that plazo would never read (a misnamed template is
/// otherwise silently ignored).
fn unknown_files(dir: &Path) -> Vec<TemplateProblem> {
    let mut out = Vec::new();
    let entry_names = |d: &Path| -> Vec<(String, PathBuf, bool)> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| {
                let path = e.path();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    path.clone(),
                    path.is_dir(),
                )
            })
            .filter(|(n, _, _)| !n.starts_with('.'))
            .collect();
        v.sort();
        v
    };
    let known_file = |lang: &str, file: &str| {
        BUILT_IN
            .iter()
            .any(|(name, _)| *name == format!("{lang}/{file}"))
    };
    for (name, path, is_dir) in entry_names(dir) {
        if !is_dir || Lang::from_code(&name).is_none() {
            let code = name.len() == 2 && name.chars().all(|c| c.is_ascii_lowercase());
            let message = if is_dir && code {
                format!(
                    "plazo has no language pack for \"{name}\" yet (it reads and writes es, \
                     en): these templates are not used until one exists"
                )
            } else if is_dir {
                format!("\"{name}\" is not a language code: templates go in es/ and en/")
            } else {
                "not a template folder entry: templates go in es/ and en/".to_string()
            };
            out.push(TemplateProblem {
                file: path.display().to_string(),
                line: None,
                message,
                fatal: false,
            });
            continue;
        }
        for (file, path, _) in entry_names(&path) {
            if !known_file(&name, &file) {
                let names: Vec<&str> = BUILT_IN
                    .iter()
                    .filter_map(|(n, _)| n.strip_prefix(&format!("{name}/")))
                    .collect();
                out.push(TemplateProblem {
                    file: path.display().to_string(),
                    line: None,
                    message: format!("unknown template: plazo reads {}", names.join(", ")),
                    fatal: false,
                });
            }
        }
    }
    out
}

/// The first line (1-based) where `word` appears as a whole word.
fn line_of_word(text: &str, word: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            line.match_indices(word).any(|(i, _)| {
                let before = line[..i].chars().next_back();
                let after = line[i + word.len()..].chars().next();
                let edge = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                edge(before) && edge(after)
            })
        })
        .map(|i| i + 1)
}

/// Splits `Subject: …\n\nbody` into its two parts.
fn split_template<'a>(name: &str, text: &'a str) -> Result<(&'a str, &'a str), RenderError> {
    let layout = || RenderError::Layout {
        name: name.to_string(),
    };
    let text = text.trim_start_matches('\u{feff}');
    let (first, rest) = text.split_once('\n').ok_or_else(layout)?;
    let subject = first
        .trim_end_matches('\r')
        .strip_prefix("Subject:")
        .ok_or_else(layout)?;
    let rest = rest.trim_start_matches('\r');
    let body = rest.strip_prefix('\n').ok_or_else(layout)?;
    Ok((subject.trim(), body))
}

/// Collapses runs of blank lines left by template conditionals and trims the ends.
fn tidy(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut blank = 0;
    for line in body.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out.push('\n');
    out
}

/// Every variable the templates get, with a one-line meaning and a sample value: what `plazo
/// templates list` prints and what `plazo check` accepts (design §6).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "client_name",
        "the client's given name, or none (role accounts, companies, ALL CAPS)",
        "Laura",
    ),
    (
        "client_address",
        "the address the reply goes to",
        "laura@cliente.example",
    ),
    (
        "subject",
        "the subject of the client's mail",
        "Cambios en la web",
    ),
    ("received", "when the mail arrived", "hoy a las 21:30"),
    (
        "request",
        "true when the mail asks for something by a time",
        "true",
    ),
    (
        "deadline",
        "the time the client asked for, or none",
        "mañana a las 18:00",
    ),
    (
        "deadline_zoned",
        "the same, with the zone named",
        "mañana a las 18:00 (hora de Madrid)",
    ),
    (
        "deadline_words",
        "the client's own words for it, or none",
        "para mañana",
    ),
    (
        "deadline_phrase",
        "the same as deadline_words (its earlier name)",
        "para mañana",
    ),
    (
        "deadline_immediate",
        "true when they asked for it right away",
        "false",
    ),
    (
        "deadline_feasible",
        "true when the time they asked for leaves the notice she needs",
        "false",
    ),
    (
        "earliest",
        "the earliest delivery with the notice she needs",
        "el martes 1 a las 13:00",
    ),
    (
        "earliest_zoned",
        "the same, with the zone named",
        "el martes 1 a las 13:00 (hora de Madrid)",
    ),
    (
        "rush_earliest",
        "the earliest delivery as a rush job, only when it is earlier and asked for",
        "el lunes 30 a las 15:00",
    ),
    (
        "rush_earliest_zoned",
        "the same, with the zone named",
        "el lunes 30 a las 15:00 (hora de Madrid)",
    ),
    (
        "rush_fee",
        "the rush fee in the reply's language, or none",
        "+50 %",
    ),
    (
        "notice",
        "the notice she needs, in words",
        "36 horas de trabajo",
    ),
    (
        "next_opening",
        "when she will read it",
        "el lunes 30 a las 9:00",
    ),
    (
        "next_opening_zoned",
        "the same, with the zone named",
        "el lunes 30 a las 9:00 (hora de Madrid)",
    ),
    ("zone", "her zone, named", "hora de Madrid"),
    (
        "hours",
        "her working hours as text",
        "de lunes a jueves, de 9:00 a 14:00 y de 16:00 a 19:00",
    ),
    ("my_name", "her name", "Ana García"),
    (
        "emergency",
        "how to reach her in a real emergency, or none (clients only unless set otherwise)",
        "600 000 000",
    ),
    (
        "outside_hours",
        "true when the mail arrived outside her working hours",
        "true",
    ),
    (
        "short_notice",
        "true when the time asked for is sooner than the notice allows",
        "true",
    ),
    (
        "away",
        "true when she is away (an [[away]] period or `plazo away`)",
        "false",
    ),
    (
        "holiday",
        "true when the mail arrived on a holiday",
        "false",
    ),
    (
        "away_until",
        "the last day she is away, or none",
        "el miércoles 6 de enero",
    ),
    ("away_ends_today", "true when she is back tomorrow", "false"),
    (
        "away_message",
        "her own words for the away period, or none",
        "Estoy en un congreso",
    ),
    (
        "usted",
        "true when the reply addresses the client as usted (a [[client]] with formality = \"usted\"); the Spanish templates follow it",
        "false",
    ),
];

/// What the templates get (design §6; [`VARIABLES`] says what each means).
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    client_name: Option<String>,
    client_address: String,
    subject: String,
    received: String,
    request: bool,
    deadline: Option<String>,
    deadline_zoned: Option<String>,
    deadline_words: Option<String>,
    deadline_phrase: Option<String>,
    deadline_immediate: bool,
    deadline_feasible: bool,
    earliest: Option<String>,
    earliest_zoned: Option<String>,
    rush_earliest: Option<String>,
    rush_earliest_zoned: Option<String>,
    rush_fee: Option<String>,
    notice: String,
    next_opening: Option<String>,
    next_opening_zoned: Option<String>,
    zone: String,
    hours: String,
    my_name: String,
    emergency: Option<String>,
    outside_hours: bool,
    short_notice: bool,
    away: bool,
    holiday: bool,
    away_until: Option<String>,
    away_ends_today: bool,
    away_message: Option<String>,
    usted: bool,
}

/// Whom a reply goes to: the address, the language it is written in, and the client agreement
/// that applies, if any.
#[derive(Debug, Clone, Copy)]
pub struct Addressee<'a> {
    /// The Return-Path address.
    pub address: &'a str,
    /// The reply's language.
    pub lang: Lang,
    /// The `[[client]]` agreement of the sender.
    pub client: Option<&'a Client>,
}

impl Context {
    /// The context for one reply.
    fn new(config: &Config, msg: &Inbound, addressee: &Addressee<'_>, a: &Assessment) -> Context {
        let (to, lang, client) = (addressee.address, addressee.lang, addressee.client);
        let tz = config.schedule.tz;
        let notice = config.notice_for(client);
        // The client's local times: in their named zone when their Date agrees with it (or
        // there is no Date), else at the offset their mail gave.
        let client_zone = match (msg.date, client.and_then(|c| c.timezone)) {
            (Some(d), Some(home)) => Some(Zone::of_sender(d, home)),
            (Some(d), None) => Some(Zone::Fixed(*d.offset())),
            (None, Some(home)) => Some(Zone::Named(home)),
            (None, None) => None,
        };
        let usted = client.is_some_and(|c| c.usted);
        let mut speaker = Speaker::new(
            lang,
            tz,
            a.received,
            client_zone,
            say::writes_am_pm(&msg.own_text) || say::writes_am_pm(&msg.subject),
        );
        speaker.usted = usted;
        let deadline = a.deadline.as_ref().map(|d| d.at.to_utc());
        let immediate = deadline.is_some_and(|d| d <= a.received);
        let short_notice = a.triggers.contains(&Trigger::ShortNotice);
        let away = a.away.and_then(|i| config.away.get(i));
        let closed = away.map(|p| p.days).or(a.holiday);
        let today = a.received.with_timezone(&tz).date_naive();
        let emergency = config
            .identity
            .emergency
            .get(lang)
            .filter(|_| match client.and_then(|c| c.emergency) {
                Some(offered) => offered,
                None => {
                    config.identity.emergency_audience == EmergencyAudience::Anyone
                        || client.is_some()
                        || config.reply.clients.iter().any(|p| matches_pattern(p, to))
                }
            })
            .map(str::to_string);
        let pair = |t: Option<DateTime<Utc>>| match t {
            Some(t) => {
                let (plain, zoned) = speaker.both(t);
                (Some(plain), Some(zoned))
            }
            None => (None, None),
        };
        let (deadline_at, deadline_zoned) = pair(deadline.filter(|_| !immediate));
        let (earliest, earliest_zoned) = pair(a.earliest);
        let (rush_earliest, rush_earliest_zoned) = pair(a.rush_earliest);
        let (next_opening, next_opening_zoned) = match a.next_opening {
            Some(t) => {
                let (plain, zoned) = speaker.both_opening(t);
                (Some(plain), Some(zoned))
            }
            None => (None, None),
        };
        Context {
            client_name: msg
                .from
                .as_ref()
                .and_then(|m| greet::given_name(m.name.as_deref()?, &m.address)),
            client_address: to.to_string(),
            subject: bounded(&msg.subject, MAX_SUBJECT),
            received: speaker.at(a.received),
            request: deadline.is_some(),
            deadline: deadline_at,
            deadline_zoned,
            deadline_words: a.deadline.as_ref().map(|d| one_line(&d.phrase)),
            deadline_phrase: a.deadline.as_ref().map(|d| one_line(&d.phrase)),
            deadline_immediate: immediate,
            deadline_feasible: deadline.is_some() && !short_notice && !immediate,
            earliest,
            earliest_zoned,
            rush_earliest,
            rush_earliest_zoned,
            rush_fee: notice.rush_fee.get(lang).map(str::to_string),
            notice: notice_text(lang, notice.minimum, notice.counts),
            next_opening,
            next_opening_zoned,
            zone: speaker.zone().to_string(),
            hours: hours_text(lang, &config.schedule),
            my_name: config.identity.name.clone(),
            emergency,
            outside_hours: a.outside_hours,
            short_notice,
            away: away.is_some(),
            holiday: away.is_none() && a.holiday.is_some(),
            away_until: closed.map(|c| speaker.day(c.last)),
            away_ends_today: closed.is_some_and(|c| c.last == today),
            away_message: away.and_then(|p| p.message.get(lang)).map(sentence),
            usted,
        }
    }

    /// Contexts that together reach every branch a template can take on the conditions the
    /// replies meet: every combination of the optional values and flags, each filled from
    /// [`VARIABLES`] when present.
    pub fn samples(config: &Config) -> Vec<Context> {
        let sample = |name: &str| {
            VARIABLES
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, _, v)| (*v).to_string())
                .unwrap_or_default()
        };
        let some = |on: bool, name: &str| on.then(|| sample(name));
        // Flags that templates branch on, and the optional values that go with them.
        const FLAGS: usize = 10;
        (0..1u32 << FLAGS)
            .map(|bits| {
                let on = |i: usize| bits & (1 << i) != 0;
                let (outside, short, immediate, rush) = (on(0), on(1), on(2), on(3));
                let (away, holiday, named, emergency, request, usted) =
                    (on(4), on(5), on(6), on(7), on(8), on(9));
                Context {
                    client_name: some(named, "client_name"),
                    client_address: sample("client_address"),
                    subject: sample("subject"),
                    received: sample("received"),
                    request,
                    deadline: some(request && !immediate, "deadline"),
                    deadline_zoned: some(request && !immediate, "deadline_zoned"),
                    deadline_words: some(request, "deadline_words"),
                    deadline_phrase: some(request, "deadline_phrase"),
                    deadline_immediate: request && immediate,
                    deadline_feasible: request && !short && !immediate,
                    earliest: Some(sample("earliest")),
                    earliest_zoned: Some(sample("earliest_zoned")),
                    rush_earliest: some(rush, "rush_earliest"),
                    rush_earliest_zoned: some(rush, "rush_earliest_zoned"),
                    rush_fee: some(rush, "rush_fee"),
                    notice: sample("notice"),
                    next_opening: Some(sample("next_opening")),
                    next_opening_zoned: Some(sample("next_opening_zoned")),
                    zone: sample("zone"),
                    hours: sample("hours"),
                    my_name: config.identity.name.clone(),
                    emergency: some(emergency, "emergency"),
                    outside_hours: outside,
                    short_notice: short,
                    away,
                    holiday,
                    away_until: some(away || holiday, "away_until"),
                    away_ends_today: holiday && !away,
                    away_message: some(away && named, "away_message"),
                    usted,
                }
            })
            .collect()
    }
}

/// Her own words as a whole sentence: a final full stop added when she left none.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '!', '?', '…']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}

/// The notice she needs, in words: "36 horas de trabajo", "36 working hours", "2 días", "90
/// minutes".
pub fn notice_text(lang: Lang, minimum: chrono::Duration, counts: Counts) -> String {
    let minutes = minimum.num_minutes();
    let (n, unit_es, unit_en) = if minutes % 60 != 0 {
        (minutes, ("minuto", "minutos"), ("minute", "minutes"))
    } else if counts == Counts::Calendar && minutes % (24 * 60) == 0 && minutes >= 48 * 60 {
        (minutes / (24 * 60), ("día", "días"), ("day", "days"))
    } else {
        (minutes / 60, ("hora", "horas"), ("hour", "hours"))
    };
    let business = counts == Counts::Business && minutes % 60 == 0;
    match lang {
        Lang::Es => {
            let unit = if n == 1 { unit_es.0 } else { unit_es.1 };
            let of_work = if business { " de trabajo" } else { "" };
            format!("{n} {unit}{of_work}")
        }
        Lang::En => {
            let unit = if n == 1 { unit_en.0 } else { unit_en.1 };
            let working = if business { "working " } else { "" };
            format!("{n} {working}{unit}")
        }
    }
}

/// A reply ready to send.
#[derive(Debug, Clone, Serialize)]
pub struct Outgoing {
    /// The one recipient: the Return-Path address.
    pub to: String,
    /// The From header as sent.
    pub from: String,
    /// The subject, decoded.
    pub subject: String,
    /// Every header as sent, unfolded (values stay RFC 2047 encoded, as on the wire).
    pub headers: BTreeMap<String, String>,
    /// The text body.
    pub text: String,
    /// The reply's Message-ID, without angle brackets.
    #[serde(skip)]
    pub message_id: String,
    /// The exact bytes to send.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Outgoing {
    /// The reply as the client's mail program shows it: the headers that matter, decoded, and
    /// the text.
    pub fn as_seen(&self) -> String {
        let mut s = format!(
            "From: {}\nTo: {}\nSubject: {}\n",
            self.from, self.to, self.subject
        );
        for name in [
            "In-Reply-To",
            "References",
            "Auto-Submitted",
            "X-Auto-Response-Suppress",
        ] {
            if let Some(v) = self.headers.get(name) {
                s += &format!("{name}: {v}\n");
            }
        }
        s += &format!("\n{}", self.text);
        s
    }
}

/// A header whose value never changes, as a lettre header type.
macro_rules! fixed_header {
    ($(#[$doc:meta])* $type:ident, $name:literal, $value:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        struct $type;

        impl Header for $type {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }
            fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($type)
            }
            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), $value.into())
            }
        }
    };
}

fixed_header!(
    /// `Auto-Submitted: auto-replied` (RFC 3834 §5).
    AutoSubmitted,
    "Auto-Submitted",
    "auto-replied"
);

fixed_header!(
    /// `Auto-Submitted: auto-generated` (RFC 3834 §5): the weekly digest.
    AutoGenerated,
    "Auto-Submitted",
    "auto-generated"
);

fixed_header!(
    /// `X-Auto-Response-Suppress: All`: asks Exchange and Outlook not to answer the reply.
    AutoResponseSuppress,
    "X-Auto-Response-Suppress",
    "All"
);

/// Builds the reply to `msg`, sent to `to` at `now`, for the triggers in `a`.
pub fn reply(
    config: &Config,
    templates: &Templates,
    msg: &Inbound,
    addressee: &Addressee<'_>,
    a: &Assessment,
    now: DateTime<Utc>,
) -> Result<Outgoing, RenderError> {
    let (to, lang) = (addressee.address, addressee.lang);
    let context = Context::new(config, msg, addressee, a);
    let templates = templates.for_client(addressee.client);
    let (subject, text) = templates.render(&template_name(lang, template_for(a)), &context)?;
    let subject = if subject.is_empty() {
        reply_subject(&msg.subject)
    } else {
        subject
    };
    let prefix = match &config.reply.subject_prefix {
        Some(texts) => texts.get(lang).unwrap_or_default(),
        None => default_prefix(lang),
    };
    let subject = if prefix.is_empty() || subject.starts_with(prefix) {
        subject
    } else {
        format!("{prefix} {subject}")
    };
    let build = |e: &dyn std::fmt::Display| RenderError::Build(e.to_string());
    let from = Mailbox::new(
        Some(config.identity.name.clone()),
        config.identity.address.parse().map_err(|e| build(&e))?,
    );
    let to_box = Mailbox::new(None, to.parse().map_err(|e| build(&e))?);
    let domain = config
        .identity
        .address
        .rsplit_once('@')
        .map_or("plazo.invalid", |(_, d)| d);
    let message_id = reply_id(msg, to, a.received, domain);
    // The envelope given, so lettre does not derive it by parsing the headers it just wrote
    // (the sender takes the outbox's envelope anyway).
    let envelope =
        lettre::address::Envelope::new(Some(from.email.clone()), vec![to_box.email.clone()])
            .map_err(|e| build(&e))?;
    let mut builder = Message::builder()
        .envelope(envelope)
        .from(from.clone())
        .to(to_box)
        .subject(subject.clone())
        .date(SystemTime::from(header_date(now)))
        .message_id(Some(format!("<{message_id}>")))
        .header(AutoSubmitted)
        .header(AutoResponseSuppress)
        .header(ContentType::TEXT_PLAIN);
    if let Some(id) = &msg.message_id {
        builder = builder.in_reply_to(format!("<{id}>"));
        builder = builder.references(references(msg, id));
    }
    let message = builder.body(text.clone()).map_err(|e| build(&e))?;
    let bytes = message.formatted();
    Ok(Outgoing {
        to: to.to_string(),
        from: from.to_string(),
        subject,
        headers: header_map(&bytes),
        text,
        message_id,
        bytes,
    })
}

/// `now` as a Date header can hold it: HTTP-date formatting (lettre, httpdate) takes only
/// 1970 to 9999, and `plazo preview` decides at a mail's own Date, which may be anything.
fn header_date(now: DateTime<Utc>) -> DateTime<Utc> {
    let last = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
        .map(|d| d.to_utc())
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    now.clamp(DateTime::<Utc>::UNIX_EPOCH, last)
}

/// `Re: ` + the original subject, without stacking prefixes.
fn reply_subject(original: &str) -> String {
    let original = bounded(original.trim(), MAX_SUBJECT);
    let original = original.as_str();
    let lower = original.to_lowercase();
    if lower.starts_with("re:") {
        original.to_string()
    } else if original.is_empty() {
        "Re:".to_string()
    } else {
        format!("Re: {original}")
    }
}

/// The most of the client's subject a reply repeats, in characters.
const MAX_SUBJECT: usize = 200;

/// The most ids a reply's `References` holds: the thread's root and the latest ones (RFC 5322
/// §3.6.4 lets a long list be trimmed), so 3,000 references never make a 121 KB reply.
const MAX_REFERENCES: usize = 10;

/// `text` cut to at most `max` characters at a word boundary, with "…" when cut.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

/// The ids for a reply's `References`: the original's, trimmed to [`MAX_REFERENCES`] with the
/// root kept, then the original's own id.
fn references(msg: &Inbound, id: &str) -> String {
    let refs = &msg.references;
    let keep = MAX_REFERENCES - 1;
    let chosen: Vec<&String> = if refs.len() > keep {
        refs.iter()
            .take(1)
            .chain(refs.iter().skip(refs.len() - (keep - 1)))
            .collect()
    } else {
        refs.iter().collect()
    };
    chosen
        .into_iter()
        .map(String::as_str)
        .chain(std::iter::once(id))
        .map(|r| format!("<{r}>"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A Message-ID for the reply, derived from what identifies the decision, so deciding the same
/// message again gives the same id (the daemon relies on that to recognise its own work).
fn reply_id(msg: &Inbound, to: &str, received: DateTime<Utc>, domain: &str) -> String {
    // FNV-1a, 64 bits: stable across builds and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let key = format!(
        "{}\0{}\0{}",
        msg.message_id.as_deref().unwrap_or_default(),
        to.to_lowercase(),
        received.timestamp()
    );
    for b in key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("plazo.{hash:016x}.{}@{domain}", received.timestamp())
}

/// The headers of a formatted message, unfolded, by name.
fn header_map(bytes: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(bytes);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(value) = current.as_ref().and_then(|n| map.get_mut(n)) {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            map.insert(name.to_string(), value.trim().to_string());
            current = Some(name.to_string());
        }
    }
    map
}

/// The name of a zone's place for people, in `lang`: `Europe/Madrid` → `Madrid`,
/// `America/New_York` → `Nueva York` / `New York`.
fn place_in(lang: Lang, tz: Tz) -> String {
    place::zone_city(lang.code(), tz)
}

/// Writes an instant in the freelancer's zone, in `lang`, with the zone named:
/// `lunes 30 de noviembre a las 10:00 (hora de Madrid)`, `Monday 30 November at 10:00 (Madrid time)`.
/// The year is written only when it differs from the year of `reference` (the arrival).
pub fn format_instant(lang: Lang, tz: Tz, t: DateTime<Utc>, reference: DateTime<Utc>) -> String {
    let local = t.with_timezone(&tz);
    let year = if local.year() == reference.with_timezone(&tz).year() {
        String::new()
    } else {
        match lang {
            Lang::Es => format!(" de {}", local.year()),
            Lang::En => format!(" {}", local.year()),
        }
    };
    let date = say::full_date(lang, local.date_naive());
    let (h, m) = (local.hour(), local.minute());
    match lang {
        Lang::Es => format!(
            "{date}{year} a la{} {h}:{m:02} (hora de {})",
            if h == 1 { "" } else { "s" },
            place_in(lang, tz)
        ),
        Lang::En => format!("{date}{year} at {h}:{m:02} ({} time)", place_in(lang, tz)),
    }
}

/// The working hours as a sentence: `de lunes a jueves, de 9:00 a 14:00 y de 16:00 a 19:00;
/// viernes, de 9:00 a 14:00` (the zone is named once elsewhere in the reply).
pub fn hours_text(lang: Lang, schedule: &Schedule) -> String {
    // Monday first (chrono numbers weekdays from Monday = 0).
    let days: Vec<String> = (0..7u8)
        .filter_map(|d| chrono::Weekday::try_from(d).ok())
        .map(|d| say::weekday_name(lang, d))
        .collect();
    let clock = |minute: u32| format!("{}:{:02}", minute / 60, minute % 60);
    let ranges = |d: usize| -> String {
        let parts: Vec<String> = schedule.week.get(d).map_or_else(Vec::new, |rs| {
            rs.iter()
                .map(|r| match lang {
                    Lang::Es => format!("de {} a {}", clock(r.start), clock(r.end)),
                    Lang::En => format!("{}–{}", clock(r.start), clock(r.end)),
                })
                .collect()
        });
        let joiner = match lang {
            Lang::Es => " y ",
            Lang::En => " and ",
        };
        parts.join(joiner)
    };
    let mut groups: Vec<String> = Vec::new();
    let mut d = 0;
    while d < 7 {
        let same = schedule.week.get(d);
        let mut end = d;
        while end + 1 < 7 && schedule.week.get(end + 1) == same {
            end += 1;
        }
        if same.is_some_and(|r| !r.is_empty()) {
            let first = days.get(d).cloned().unwrap_or_default();
            let last = days.get(end).cloned().unwrap_or_default();
            let span = match (end - d, lang) {
                (0, _) => first.to_string(),
                (1, Lang::Es) => format!("{first} y {last}"),
                (1, Lang::En) => format!("{first} and {last}"),
                (_, Lang::Es) => format!("de {first} a {last}"),
                (_, Lang::En) => format!("{first} to {last}"),
            };
            groups.push(match lang {
                Lang::Es => format!("{span}, {}", ranges(d)),
                Lang::En => format!("{span} {}", ranges(d)),
            });
        }
        d = end + 1;
    }
    groups.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(place_in(Lang::En, chrono_tz::America::New_York), "New York");
        assert_eq!(
            place_in(Lang::Es, chrono_tz::America::New_York),
            "Nueva York"
        );
    }

    #[test]
    fn dates_in_both_languages() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T10:00:00+01:00")
            .expect("date")
            .to_utc();
        let tz = chrono_tz::Europe::Madrid;
        assert_eq!(
            format_instant(Lang::Es, tz, t, t),
            "lunes 30 de noviembre a las 10:00 (hora de Madrid)"
        );
        assert_eq!(
            format_instant(Lang::En, tz, t, t),
            "Monday 30 November at 10:00 (Madrid time)"
        );
        let new_year = DateTime::parse_from_rfc3339("2027-01-04T13:00:00+01:00")
            .expect("date")
            .to_utc();
        assert_eq!(
            format_instant(Lang::Es, tz, new_year, t),
            "lunes 4 de enero de 2027 a las 13:00 (hora de Madrid)"
        );
        assert_eq!(
            format_instant(Lang::En, tz, new_year, t),
            "Monday 4 January 2027 at 13:00 (Madrid time)"
        );
    }

    #[test]
    fn long_subjects_and_references_are_bounded() {
        let long = "palabra ".repeat(10_000);
        let subject = reply_subject(&long);
        assert!(
            subject.chars().count() <= MAX_SUBJECT + 4,
            "{}",
            subject.len()
        );
        assert!(subject.ends_with("palabra…"), "cut at a word: {subject}");
        let refs: String = (0..3000).map(|i| format!("<r{i}@x>\r\n ")).collect();
        let raw =
            format!("Return-Path: <a@x>\r\nReferences: {refs}\r\nMessage-ID: <m@x>\r\n\r\nHi\r\n");
        let msg = Inbound::parse(raw.as_bytes());
        assert_eq!(msg.references.len(), 3000);
        let got = references(&msg, "m@x");
        assert_eq!(got.matches('<').count(), MAX_REFERENCES);
        assert!(got.starts_with("<r0@x> <r2992@x>"), "{got}");
        assert!(got.ends_with("<r2999@x> <m@x>"), "{got}");
    }

    #[test]
    fn subjects() {
        assert_eq!(reply_subject("Web"), "Re: Web");
        assert_eq!(reply_subject("RE: Web"), "RE: Web");
        assert_eq!(reply_subject(""), "Re:");
    }

    #[test]
    fn built_in_templates_split() {
        for (name, text) in BUILT_IN {
            assert!(split_template(name, text).is_ok(), "{name}");
        }
    }
}
