//! Roles: which of a text's time expressions the client asks Ana to meet.
//!
//! Every expression is attached to the clause it stands in, and gets one [`Role`] and a
//! [`Strength`]. Precision comes first: a time is a demand only when the clause gives evidence
//! of a request; everything else with a time is an event, a plan, a schedule, the past, a
//! number, a dateline, an idiom, a condition or a withdrawn demand.
//!
//! **Clauses** are split at punctuation, at subordinators that open a new predicate ("si",
//! "because", "so", "porque", "cuando"), at a relative after a comma ("…, que empieza a las
//! 12"), at "that"/"que" after a verb of saying or noticing ("note that…", "recuerda que…"),
//! and at "y"/"and"/"pero"/"but" when both sides have a verb. A relative after a request verb
//! ("necesito que…", "make sure that…") stays in the request's clause.
//!
//! **The predicate** of a clause is its first verb, read through its auxiliaries ("will send"
//! is a future, "has sent" a past, "should be submitted" an obligation), with its subject's
//! person: a subject pronoun, a noun before the verb, or the Spanish ending. A verb opening a
//! clause in its bare or imperative form is an imperative ("Send it", "Súbelo", "Envíe").
//!
//! **The decision**, first matching row wins (each row's name is its role):
//!
//! | row | when | role |
//! |---|---|---|
//! | 1 | "sin prisa", "no rush" | `no-deadline` |
//! | 2 | the clause holds a range or a recurrence ("de 10 a 20h", "Mon–Fri", "los lunes", "usually") | `schedule` |
//! | 3 | a timestamp: a label ("Date:", "Posted"), or a date with its year and a time or weekday, or a line that is only the date | `dateline` |
//! | 4 | "después de", "a partir de", "after": a start, not a limit | `after` |
//! | 5 | right after an idiom ("son las 10", "good morning") | `idiom` |
//! | 6 | a withdrawn demand ("ya no hace falta", "cancelled"), or a negated request ("no me lo mandes", "won't need") | `negated` |
//! | 7 | inside a condition ("si…", "if…"; but "if I don't hear from you by 5" asks for a reply, and "let me know if…" is a question), or a conditional main verb beside one ("we would need it by March if…") | `conditional` |
//! | 8 | the predicate is in the past, or the clause says so ("ayer", "last week") with no request | `past` |
//! | 9 | a request to meet or to be somewhere ("can you join the call at 3", "¿hablamos el martes?") | `event` |
//! | 10 | a request: an imperative, "¿puedes…?", "can you", "please", "necesito", "need", "tiene que", "must", "should be", a deadline word, "you have until…", "tienes tres días", a copula with a limit ("es para el viernes") | `request` / `immediate` |
//! | 11 | the sender's own plan: first person ("te mando", "I'll send", "vamos a publicarlo", "tengo que salir") | `plan` |
//! | 12 | a happening: an event word ("reunión", "meeting") or a verb of happening with another subject ("la campaña empieza") | `event` |
//! | 13 | opening hours or availability ("horario", "office hours", "disponible") | `schedule` |
//! | 14 | an urgent word standing alone or as what something is ("URGENTE", "es urgente") | `immediate` |
//! | 15 | no verb at all: with a limit ("Para mañana", "Draft by Monday"), alone in the text ("El lunes a primera hora"), or before a thing ("Mañana a las 10 la maqueta") | `request` |
//! | 16 | anything else: a statement by its subject's person (first: `plan`; else `event`), or a fragment | weak |
//!
//! Then **ties**: a request that points at an event ("tenlo antes", "before that", "antes de la
//! reunión", "antes de que abra la tienda") takes the event's time: the nearest event or plan
//! before it in the last two sentences, or else the first after it in the same sentence. That
//! time becomes `tied`. A bare "now" of a text that also says "no rush" yields to it.
//!
//! **Strength**: a request, an immediate word or a tie is `strong` when the evidence above is
//! there; rows 15 (a fragment in a longer mail) and 16 are `weak`. Only strong requests count.

use std::ops::Range;

use smallvec::SmallVec;

use super::compose::{Bound, Expression, What};
use super::expr::Expr;
use crate::lang::Pack;
use crate::lang::vocab::{Cue, DayRef, Person, Piece, Tense, Verb, VerbKind};

/// What a time expression is to the mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Ana is asked to have something done by then.
    Request,
    /// An immediate word in a request: now.
    Immediate,
    /// The time of an event a request points at.
    Tied,
    /// A happening no request points at.
    Event,
    /// The sender's own plan or promise.
    Plan,
    /// Opening hours, ranges, recurring times.
    Schedule,
    /// Something that already happened.
    Past,
    /// A number that only looks like a time.
    Number,
    /// A timestamp or dateline.
    Dateline,
    /// Words that look like a time but are not one here.
    Idiom,
    /// A demand under a hypothetical condition.
    Conditional,
    /// A withdrawn or negated demand.
    Negated,
    /// An explicit absence of deadline.
    NoDeadline,
    /// A start, not a limit ("a partir del lunes").
    After,
}

impl Role {
    /// The tag used in JSON and in the tables.
    pub fn tag(self) -> &'static str {
        match self {
            Role::Request => "request",
            Role::Immediate => "immediate",
            Role::Tied => "tied",
            Role::Event => "event",
            Role::Plan => "plan",
            Role::Schedule => "schedule",
            Role::Past => "past",
            Role::Number => "number",
            Role::Dateline => "dateline",
            Role::Idiom => "idiom",
            Role::Conditional => "conditional",
            Role::Negated => "negated",
            Role::NoDeadline => "no-deadline",
            Role::After => "after",
        }
    }

    /// Whether a strong reading of this role sets a deadline.
    pub fn is_demand(self) -> bool {
        matches!(self, Role::Request | Role::Immediate | Role::Tied)
    }
}

/// How sure a reading is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// The evidence is there.
    Strong,
    /// A possible reading with thin evidence: shown, never quoted to a client.
    Weak,
}

impl Strength {
    /// The tag used in JSON.
    pub fn tag(self) -> &'static str {
        match self {
            Strength::Strong => "strong",
            Strength::Weak => "weak",
        }
    }
}

/// An expression with its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The expression.
    pub expr: Expression,
    /// Its role.
    pub role: Role,
    /// How sure.
    pub strength: Strength,
    /// The decision-table row that gave the role, and why, for `plazo extract`.
    pub why: &'static str,
}

impl Judged {
    /// Whether it sets a deadline.
    pub fn counts(&self) -> bool {
        self.role.is_demand() && self.strength == Strength::Strong
    }
}

/// How a clause opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opener {
    /// At a sentence start or after punctuation.
    Plain,
    /// "si", "if".
    If,
    /// "porque", "so", "cuando"…
    Because,
    /// "que", "which", "that".
    Relative,
    /// "y", "and", "pero".
    And,
}

/// One clause: its pieces and what they say.
#[derive(Debug)]
struct Clause {
    pieces: Range<usize>,
    sentence: usize,
    opener: Opener,
    question: bool,
    verbs: SmallVec<[(usize, Verb); 4]>,
    subjects: SmallVec<[(usize, Person); 2]>,
    cues: SmallVec<[(usize, Cue); 4]>,
    /// Where a request points at an event: the piece, and whether it names the event ("antes
    /// de la reunión") rather than only pointing back ("antes", "before that").
    anaphors: SmallVec<[(usize, bool); 2]>,
    range: bool,
    recurring: bool,
    /// A deadline label and its colon ("Due:", "Plazo:", "Fecha de entrega:").
    label: bool,
    /// The next clause of the sentence is only a "please" ("Súbelo, porfa.").
    please_after: bool,
}

impl Clause {
    fn has(&self, cue: Cue) -> bool {
        self.cues.iter().any(|(_, c)| *c == cue)
    }
}

/// The predicate of a clause.
#[derive(Debug, Clone, Copy)]
struct Predicate {
    /// The lexical verb's kind.
    kind: VerbKind,
    /// The tense, read through the auxiliaries.
    tense: Tense,
    /// The subject's person.
    person: Option<Person>,
    /// For whom ("mándame", "te mando").
    to: Option<Person>,
    /// The modal or auxiliary in front, if any.
    modal: Option<VerbKind>,
    /// An imperative.
    imperative: bool,
    /// The kind of an infinitive right after the verb ("queremos abrir", "want to open").
    complement: Option<VerbKind>,
}

/// The context of one text for the roles.
pub struct Context<'a> {
    /// The text.
    pub text: &'a str,
    /// The pieces of the text.
    pub pieces: &'a [(Piece, Range<usize>)],
    /// Whether the text is a subject line.
    pub subject: bool,
    /// The pack that read the pieces.
    pub pack: &'static Pack,
}

/// Judges every expression of a text.
pub fn judge(cx: &Context<'_>, exprs: Vec<Expression>) -> Vec<Judged> {
    if exprs.is_empty() {
        return Vec::new();
    }
    let clauses = split(cx);
    // How many clauses say anything: a text that is one time fragment is a demand by itself.
    // A text made only of time fragments ("Mañana a primera hora, porfa") is a demand by itself.
    let content_sentences = usize::from(!clauses.iter().all(|c| only_time(cx, c))) + 1;
    let mut preds: Vec<Option<Predicate>> = Vec::with_capacity(clauses.len());
    for (k, c) in clauses.iter().enumerate() {
        let prev = k
            .checked_sub(1)
            .filter(|&j| clauses[j].sentence == c.sentence)
            .and_then(|j| preds.get(j).copied().flatten());
        preds.push(predicate(cx, c, prev));
    }
    let mut out: Vec<Judged> = exprs
        .into_iter()
        .map(|e| {
            let k = clauses
                .iter()
                .position(|c| c.pieces.contains(&e.pieces.start))
                .unwrap_or(0);
            let (role, mut strength, why) = decide(cx, &clauses, &preds, k, &e, content_sentences);
            // A month or a year alone names no instant: never a deadline to quote.
            if e.what == What::Vague && role.is_demand() {
                strength = Strength::Weak;
            }
            Judged {
                expr: e,
                role,
                strength,
                why,
            }
        })
        .collect();
    // "I'd asked for the copy by Wednesday, but that's been cancelled": a later clause of the
    // sentence withdraws what was asked before it.
    for (k, c) in clauses.iter().enumerate() {
        let joined = matches!(c.opener, Opener::And | Opener::Relative);
        let withdraws = joined
            && (c.has(Cue::Negation) || preds[k].is_some_and(|p| p.kind == VerbKind::Cancel));
        if !withdraws {
            continue;
        }
        for j in out.iter_mut() {
            let at = j.expr.pieces.start;
            let same_sentence = clauses
                .iter()
                .position(|x| x.pieces.contains(&at))
                .is_some_and(|x| x < k && clauses[x].sentence == c.sentence);
            let asked_before =
                j.role == Role::Past && matches!(j.expr.bound, Bound::By | Bound::Before);
            if same_sentence && (j.role.is_demand() || asked_before) {
                j.role = Role::Negated;
                j.why = "withdrawn by what follows (…, but that's cancelled)";
            }
        }
    }
    // "closed from 24 December until 2 January", "desde el 24 hasta el 6": a span of days.
    for i in 1..out.len() {
        let (head, tail) = out.split_at_mut(i);
        let (Some(a), Some(b)) = (head.last_mut(), tail.first_mut()) else {
            continue;
        };
        let between_glue = cx.pieces[a.expr.pieces.end..b.expr.pieces.start.max(a.expr.pieces.end)]
            .iter()
            .all(|(p, _)| *p == Piece::Glue);
        if a.expr.bound == Bound::After && b.expr.bound == Bound::By && between_glue {
            for j in [a, b] {
                j.role = Role::Schedule;
                j.strength = Strength::Strong;
                j.why = "a span of days (from … until …)";
            }
        }
    }
    // "by the end of tomorrow, July 26": a time in apposition takes the role of the one before.
    for i in 1..out.len() {
        let (head, tail) = out.split_at_mut(i);
        let (Some(prev), Some(cur)) = (head.last(), tail.first_mut()) else {
            continue;
        };
        let ci = clauses
            .iter()
            .position(|c| c.pieces.contains(&cur.expr.pieces.start));
        let pi = clauses
            .iter()
            .position(|c| c.pieces.contains(&prev.expr.pieces.start));
        if let (Some(ci), Some(pi)) = (ci, pi)
            && ci == pi + 1
            && clauses[ci].sentence == clauses[pi].sentence
            && only_time(cx, &clauses[ci])
            && cur.expr.what == What::Time
            && prev.expr.what == What::Time
        {
            cur.role = prev.role;
            cur.strength = prev.strength;
            cur.why = "in apposition to the time before it";
        }
    }
    // A bare "now" of a text that also says "no rush" yields to it.
    if out.iter().any(|j| j.role == Role::NoDeadline) {
        for j in out.iter_mut() {
            if j.expr.what == What::Now && j.role == Role::Immediate {
                j.role = Role::NoDeadline;
                j.why = "a bare \"now\" in a text that says there is no rush";
            }
        }
    }
    tie(cx, &clauses, &preds, &mut out);
    out
}

/// Splits the pieces into clauses.
fn split(cx: &Context<'_>) -> Vec<Clause> {
    let pieces = cx.pieces;
    let mut out = Vec::new();
    let mut start = 0;
    let mut opener = Opener::Plain;
    let mut sentence = 0;
    let mut has_verb = false;
    let mut prev_content: Option<Piece> = None;
    let mut k = 0;
    let push = |out: &mut Vec<Clause>, r: Range<usize>, opener: Opener, sentence: usize| {
        if !r.is_empty() {
            out.push(clause(cx, r, opener, sentence));
        }
    };
    while k < pieces.len() {
        let piece = pieces[k].0;
        let split_here = match piece {
            Piece::Cue(Cue::If) => Some(Opener::If),
            Piece::Cue(Cue::Because) => Some(Opener::Because),
            Piece::Cue(Cue::Relative) => {
                let after_comma = matches!(prev_content, Some(Piece::Break { .. })) || k == start;
                let after_request = matches!(
                    prev_content,
                    Some(Piece::Cue(Cue::Need | Cue::Must | Cue::Ask | Cue::Please))
                        | Some(Piece::Verb(Verb {
                            kind: VerbKind::Need | VerbKind::Want | VerbKind::Must,
                            ..
                        }))
                );
                let after_saying = matches!(
                    prev_content,
                    Some(Piece::Verb(Verb {
                        kind: VerbKind::Say | VerbKind::Feel | VerbKind::Intend,
                        ..
                    }))
                );
                let english_that =
                    matches!(word(cx, k), "that" | "which" | "who") && !after_request && has_verb;
                (after_comma || after_saying || english_that).then_some(Opener::Relative)
            }
            Piece::Cue(Cue::And) => {
                // A new predicate follows: its verb or subject right after the joiner, times
                // and glue aside ("y el viernes necesito…"); not "me or John know".
                let predicate_follows = pieces[k + 1..]
                    .iter()
                    .map(|(p, _)| *p)
                    .find(|p| {
                        !(is_time(*p)
                            || matches!(
                                p,
                                Piece::Glue | Piece::By | Piece::Before | Piece::Cue(Cue::Not)
                            ))
                    })
                    .is_some_and(|p| {
                        matches!(
                            p,
                            Piece::Verb(_)
                                | Piece::Subject(_)
                                | Piece::Cue(Cue::Please | Cue::Ask | Cue::Need | Cue::Must)
                        )
                    });
                // Or a new subject: an article, a noun, then a verb ("and the landing page has
                // to be ready", "y la maqueta la necesito").
                let subject_follows = {
                    let rest: SmallVec<[Piece; 5]> = pieces[k + 1..]
                        .iter()
                        .map(|(p, _)| *p)
                        .take_while(|p| !matches!(p, Piece::Break { .. }))
                        .take(5)
                        .collect();
                    rest.first() == Some(&Piece::Glue)
                        && rest
                            .iter()
                            .skip(1)
                            .position(|p| *p != Piece::Glue && *p != Piece::Gap)
                            .is_some_and(|at| {
                                rest[1..=at].contains(&Piece::Gap)
                                    && matches!(
                                        rest.get(at + 1),
                                        Some(Piece::Verb(_) | Piece::Cue(Cue::Must | Cue::Need))
                                    )
                            })
                };
                (has_verb && (predicate_follows || subject_follows)).then_some(Opener::And)
            }
            _ => None,
        };
        if let Piece::Break { strong } = piece {
            push(&mut out, start..k + 1, opener, sentence);
            if strong {
                sentence += 1;
            }
            start = k + 1;
            opener = Opener::Plain;
            has_verb = false;
            prev_content = Some(piece);
            k += 1;
            continue;
        }
        if let Some(o) = split_here
            && k > start
        {
            push(&mut out, start..k, opener, sentence);
            start = k;
            opener = o;
            has_verb = false;
        } else if let Some(o) = split_here {
            opener = o;
        } else if k == start && piece == Piece::Cue(Cue::And) {
            // ", pero al final no hacen falta": a joiner opening the clause after a comma.
            opener = Opener::And;
        }
        if matches!(
            piece,
            Piece::Verb(_) | Piece::Cue(Cue::Need | Cue::Must | Cue::Ask)
        ) {
            has_verb = true;
        }
        if piece != Piece::Glue {
            prev_content = Some(piece);
        }
        k += 1;
    }
    push(&mut out, start..pieces.len(), opener, sentence);
    // Questions: every clause of a sentence ending in "?" or opened by "¿".
    let mut asked = vec![false; sentence + 1];
    let mut s_idx = 0;
    for (p, span) in pieces {
        if let Piece::Break { strong } = p {
            if matches!(cx.text.get(span.clone()), Some("?" | "¿"))
                && let Some(a) = asked.get_mut(s_idx)
            {
                *a = true;
            }
            if *strong {
                s_idx += 1;
            }
        }
    }
    for c in &mut out {
        c.question = asked.get(c.sentence).copied().unwrap_or(false);
    }
    for k in 1..out.len() {
        let n = &out[k];
        let only_please = n.has(Cue::Please)
            && cx.pieces[n.pieces.clone()].iter().all(|(p, _)| {
                matches!(
                    p,
                    Piece::Cue(Cue::Please) | Piece::Glue | Piece::Break { .. }
                )
            });
        if only_please && out[k - 1].sentence == n.sentence {
            out[k - 1].please_after = true;
        }
    }
    out
}

/// The folded word of piece `k` (its first token), for the few rules that need a word.
fn word<'a>(cx: &Context<'a>, k: usize) -> &'a str {
    cx.pieces
        .get(k)
        .and_then(|(_, s)| cx.text.get(s.clone()))
        .map_or("", |w| {
            let w = w.trim();
            match w.to_ascii_lowercase().as_str() {
                "that" => "that",
                "which" => "which",
                "who" => "who",
                _ => "",
            }
        })
}

fn clause(cx: &Context<'_>, r: Range<usize>, opener: Opener, sentence: usize) -> Clause {
    let mut c = Clause {
        pieces: r.clone(),
        sentence,
        opener,
        question: false,
        verbs: SmallVec::new(),
        subjects: SmallVec::new(),
        cues: SmallVec::new(),
        anaphors: SmallVec::new(),
        range: false,
        recurring: false,
        label: false,
        please_after: false,
    };
    // "Deadline for the menu PDF:": a deadline word, maybe its thing, no verb.
    c.label = cx.pieces[c.pieces.clone()].iter().all(|(p, _)| {
        matches!(
            p,
            Piece::Glue | Piece::Gap | Piece::By | Piece::Cue(Cue::Deadline) | Piece::Break { .. }
        )
    }) && cx.pieces[c.pieces.clone()]
        .iter()
        .any(|(p, _)| *p == Piece::Cue(Cue::Deadline))
        && c.pieces
            .end
            .checked_sub(1)
            .and_then(|k| cx.text.get(cx.pieces[k].1.clone()))
            == Some(":");
    let mut pending_before: Option<usize> = None;
    for k in r {
        match cx.pieces[k].0 {
            Piece::Verb(v) => {
                c.verbs.push((k, v));
                // "antes de que abra la tienda": a request pointing at a happening.
                if let Some(b) = pending_before.take()
                    && matches!(v.kind, VerbKind::Happen | VerbKind::Meet | VerbKind::Be)
                {
                    c.anaphors.push((b, true));
                }
            }
            Piece::Subject(p) => c.subjects.push((k, p)),
            Piece::Cue(cue) => {
                if cue == Cue::Event
                    && let Some(b) = pending_before.take()
                {
                    c.anaphors.push((b, true));
                }
                c.cues.push((k, cue));
            }
            Piece::Anaphor => c.anaphors.push((k, false)),
            Piece::Range => c.range = true,
            Piece::Recurring => c.recurring = true,
            Piece::Before => pending_before = Some(k),
            Piece::Glue | Piece::Gap => {}
            Piece::Break { .. } => {}
            _ => pending_before = None,
        }
    }
    // "I need it before." / "tenlo antes": a "before" with nothing after it.
    if let Some(b) = pending_before
        && !cx.pieces[b + 1..c.pieces.end]
            .iter()
            .any(|(p, _)| is_time(*p))
    {
        c.anaphors.push((b, false));
    }
    c
}

/// Whether a clause is a fragment after a comma: no finite verb of its own (a bare form after a
/// noun is a noun: "Investor review").
fn fragment(cx: &Context<'_>, c: &Clause) -> bool {
    let after_comma = c
        .pieces
        .start
        .checked_sub(1)
        .is_some_and(|b| matches!(cx.pieces[b].0, Piece::Break { strong: false }));
    after_comma
        && !c.verbs.iter().any(|(k, v)| {
            let noun_before = k
                .checked_sub(1)
                .is_some_and(|b| cx.pieces[b].0 == Piece::Gap);
            let non_finite = matches!(
                v.tense,
                Tense::Infinitive | Tense::Gerund | Tense::Participle
            );
            let noun = v.tense == Tense::Base && noun_before;
            !(non_finite || noun)
        })
        && c.subjects.is_empty()
}

/// Whether a clause has a finite verb (not only infinitives, gerunds or participles).
fn finite(c: &Clause) -> bool {
    c.verbs.iter().any(|(_, v)| {
        !matches!(
            v.tense,
            Tense::Infinitive | Tense::Gerund | Tense::Participle
        )
    })
}

fn is_time(p: Piece) -> bool {
    matches!(
        p,
        Piece::Day(_)
            | Piece::Clock(_)
            | Piece::Part(_)
            | Piece::Period(_)
            | Piece::Elapsed(_)
            | Piece::Days { .. }
            | Piece::Urgent
            | Piece::Now
    )
}

/// Pieces that may stand before an imperative without making it a statement: glue, please, a
/// fronted time ("Mañana mándame…", "Tomorrow send…").
fn filler(p: Piece) -> bool {
    is_time(p)
        || matches!(
            p,
            Piece::Glue
                | Piece::Before
                | Piece::By
                | Piece::Zone(_)
                | Piece::Break { strong: false }
                | Piece::Cue(Cue::Please | Cue::And | Cue::Because | Cue::Perhaps | Cue::Idiom)
                | Piece::Urgent
                | Piece::Now
        )
}

/// The predicate of a clause: its first verb through its auxiliaries, with the subject.
/// `prev`: the predicate of the clause before in the same sentence, whose subject a
/// coordinated clause shares ("I'll read it and get back to you on Monday").
fn predicate(cx: &Context<'_>, c: &Clause, prev: Option<Predicate>) -> Option<Predicate> {
    // The first verb, passing over a bare form that sits between nouns ("all test trades must be
    // completed": "test" is a noun there) when a verb follows.
    let pick = c
        .verbs
        .iter()
        .position(|(k, v)| {
            let nouns_before = cx.pieces[c.pieces.start..*k]
                .iter()
                .any(|(p, _)| *p == Piece::Gap);
            let noun_after = cx.pieces.get(k + 1).is_some_and(|(p, _)| *p == Piece::Gap);
            let right_after_noun = k
                .checked_sub(1)
                .is_some_and(|b| b >= c.pieces.start && cx.pieces[b].0 == Piece::Gap);
            let later = c.verbs.iter().any(|(j, _)| j > k);
            // "test trades", "the limitations imposed upon…": a noun, or a participle after one.
            let auxiliary = matches!(
                v.kind,
                VerbKind::Be
                    | VerbKind::Have
                    | VerbKind::Will
                    | VerbKind::Would
                    | VerbKind::Can
                    | VerbKind::Must
                    | VerbKind::Do
                    | VerbKind::Perfect
            );
            !(v.tense == Tense::Base && nouns_before && !auxiliary && (noun_after || later))
                && !(later
                    && right_after_noun
                    && matches!(v.tense, Tense::Past | Tense::Participle)
                    && !cx.pack.morph.pro_drop)
        })
        .unwrap_or(0);
    let verbs = &c.verbs[pick..];
    let &(first_at, first) = verbs.first()?;
    // The lexical verb, read through the auxiliaries in front of it: "will send" (future),
    // "has sent" (past), "is sent" / "be turned in" (passive), "is sending" (progressive),
    // "can send", "should be submitted" (modal), "voy a mandar" (future).
    // The next verb counts as part of the verb group only when nothing but glue, a negation or
    // an inverted subject stands between ("have it done" is not a perfect).
    let next = verbs
        .get(1)
        .filter(|(k, _)| {
            *k <= first_at + 4
                && cx.pieces[first_at + 1..*k].iter().all(|(p, _)| match p {
                    Piece::Glue | Piece::Cue(Cue::Not | Cue::Perhaps | Cue::Must | Cue::Need) => {
                        true
                    }
                    Piece::Subject(person) => c.question && *person != Person::It,
                    _ => false,
                })
        })
        .map(|(_, v)| *v);
    let (lexical, modal, tense) = match (first.kind, next) {
        (
            VerbKind::Will | VerbKind::Would | VerbKind::Can | VerbKind::Must | VerbKind::Do,
            Some(n),
        ) => {
            let (n2, tense) = match (n.kind, verbs.get(2).map(|(_, v)| *v)) {
                // "should be submitted", "will be posted", "can have it": through a second aux.
                (VerbKind::Be | VerbKind::Have, Some(m))
                    if matches!(m.tense, Tense::Past | Tense::Participle | Tense::Gerund) =>
                {
                    (
                        m,
                        if n.kind == VerbKind::Have && first.kind != VerbKind::Must {
                            Tense::Past
                        } else {
                            first.tense
                        },
                    )
                }
                _ => (n, first.tense),
            };
            let tense = match first.kind {
                VerbKind::Will => Tense::Future,
                // "I'd asked": a past ("had"), not a conditional.
                VerbKind::Would if matches!(n2.tense, Tense::Past | Tense::Participle) => {
                    Tense::Past
                }
                VerbKind::Would => Tense::Conditional,
                _ => match tense {
                    Tense::Past => Tense::Past,
                    Tense::Conditional => Tense::Conditional,
                    _ => Tense::Present,
                },
            };
            (n2, Some(first.kind), tense)
        }
        (VerbKind::Perfect, Some(n)) if matches!(n.tense, Tense::Past | Tense::Participle) => {
            (n, Some(VerbKind::Perfect), Tense::Past)
        }
        // English "has sent"; Spanish "tener" + participle is a state ("lo tengo hecho").
        (VerbKind::Have, Some(n))
            if !cx.pack.morph.pro_drop && matches!(n.tense, Tense::Past | Tense::Participle) =>
        {
            (n, Some(VerbKind::Have), Tense::Past)
        }
        (VerbKind::Be, Some(n))
            if matches!(n.tense, Tense::Past | Tense::Participle | Tense::Gerund) =>
        {
            let tense = if first.tense == Tense::Base {
                Tense::Present
            } else {
                first.tense
            };
            (n, Some(VerbKind::Be), tense)
        }
        (VerbKind::Go, Some(n))
            if first.tense == Tense::Present && n.tense == Tense::Infinitive =>
        {
            (n, Some(VerbKind::Will), Tense::Future)
        }
        _ => (first, None, first.tense),
    };
    // "we're going to need": the verb after "going to", in the future.
    let (lexical, tense) = if lexical.kind == VerbKind::Go && lexical.tense == Tense::Gerund {
        let at = verbs.iter().position(|(_, v)| *v == lexical);
        match at.and_then(|a| verbs.get(a + 1).filter(|(k, _)| *k <= verbs[a].0 + 2)) {
            Some((_, v)) => (*v, Tense::Future),
            None => (lexical, tense),
        }
    } else {
        (lexical, tense)
    };
    // The subject: a pronoun before the first verb, else the verb's ending.
    let pronoun = c
        .subjects
        .iter()
        .rev()
        .find(|(k, _)| *k < first_at)
        .map(|(_, p)| *p);
    let before: Vec<Piece> = cx.pieces[c.pieces.start..first_at]
        .iter()
        .map(|(p, _)| *p)
        .collect();
    let clause_initial = before.iter().all(|p| filler(*p));
    let noun_before = before.contains(&Piece::Gap);
    let inverted_you = c
        .subjects
        .iter()
        .any(|(k, p)| *k > first_at && *k <= first_at + 2 && *p == Person::You);
    let person = pronoun
        .or(if inverted_you {
            Some(Person::You)
        } else {
            None
        })
        .or(
            if noun_before && first.person.is_none_or(|p| p == Person::It) {
                Some(Person::It)
            } else {
                None
            },
        )
        .or(first.person);
    let next_is_verb = verbs.get(1).is_some_and(|(k, _)| {
        *k == first_at + 1
            || cx.pieces[first_at + 1..*k]
                .iter()
                .all(|(p, _)| *p == Piece::Glue)
    });
    let shared = (c.opener == Opener::And && pronoun.is_none() && !noun_before)
        .then_some(prev)
        .flatten();
    if let Some(sp) = shared
        && !sp.imperative
    {
        return Some(Predicate {
            kind: lexical.kind,
            tense: if tense == Tense::Base {
                sp.tense
            } else {
                tense
            },
            person: sp.person,
            to: first.to.or(lexical.to),
            modal: modal.or(sp.modal),
            imperative: false,
            complement: None,
        });
    }
    // The infinitive a verb governs ("queremos abrir", "want to open", "I'd like to see").
    let lexical_at = verbs
        .iter()
        .find(|(_, v)| *v == lexical)
        .map_or(first_at, |(k, _)| *k);
    let complement = verbs
        .iter()
        .find(|(k, v)| {
            *k > lexical_at
                && *k <= lexical_at + 2
                && matches!(v.tense, Tense::Infinitive | Tense::Base)
        })
        .map(|(_, v)| v.kind);
    // "Will send logins tmrw": a future with no subject is the sender's.
    let person = if matches!(first.kind, VerbKind::Will | VerbKind::Would)
        && clause_initial
        && pronoun.is_none()
        && !inverted_you
        && !c.question
    {
        Some(Person::I)
    } else {
        person
    };
    // "Subí la corrección, porfa": the voseo imperative looks like the past "yo" form.
    let voseo = clause_initial
        && pronoun.is_none()
        && first.tense == Tense::Past
        && first.person == Some(Person::I)
        && cx.pack.morph.pro_drop
        && (c.has(Cue::Please) || c.please_after);
    let imperative = voseo
        || clause_initial
            && pronoun.is_none()
            && match first.tense {
                Tense::Imperative => true,
                // English: a bare form opening the clause, not followed by a verb ("Update is ready").
                Tense::Base => !next_is_verb,
                // Spanish: the tú imperative is the present "él" form; verbs of happening opening a
                // clause are statements ("Llega el fotógrafo").
                Tense::Present => {
                    first.person == Some(Person::It)
                        && !noun_before
                        && !c.question
                        && matches!(
                            first.kind,
                            VerbKind::Act | VerbKind::Get | VerbKind::Have | VerbKind::Want
                        )
                        && first.to != Some(Person::You)
                        && !cx.subject
                        && cx.pack.morph.pro_drop
                }
                Tense::Subjunctive => {
                    matches!(first.person, Some(Person::It | Person::They)) && !noun_before
                }
                _ => false,
            };
    Some(Predicate {
        kind: lexical.kind,
        tense: if imperative {
            Tense::Imperative
        } else if tense == Tense::Base {
            Tense::Present
        } else {
            tense
        },
        person: if imperative {
            Some(Person::You)
        } else {
            person
        },
        to: first.to.or(lexical.to),
        modal,
        imperative,
        complement,
    })
}

/// The evidence of a request in a clause (or what it inherits), with why.
fn request_evidence(
    c: &Clause,
    p: Option<&Predicate>,
    prev: Option<(&Clause, Option<Predicate>)>,
) -> Option<&'static str> {
    if c.has(Cue::Ask) {
        return Some("a question asking Ana to act (can you, ¿puedes…?)");
    }
    // "Please note (that) the shop is closed on Friday": please asks Ana to notice, not to act.
    let noticing = p.is_some_and(|p| p.imperative && p.kind == VerbKind::Feel);
    if c.has(Cue::Please) && !noticing {
        return Some("please / por favor");
    }
    // "El plazo es el 15", "Deadline: Friday", "tienes de plazo…"; not "las empresas tendrán un
    // plazo de tres meses" (someone else's).
    let others_deadline = p.is_some_and(|p| {
        matches!(p.kind, VerbKind::Have | VerbKind::Get)
            && matches!(p.person, Some(Person::It | Person::They))
            && !p.imperative
    });
    if c.has(Cue::Deadline) && !others_deadline {
        return Some("a deadline word (plazo, deadline, due)");
    }
    if c.has(Cue::Need) {
        return Some("a need or a wish (necesito, hace falta, I'd like)");
    }
    if let Some(p) = p {
        if p.imperative && !matches!(p.kind, VerbKind::Meet | VerbKind::Feel | VerbKind::Intend) {
            return Some("an imperative");
        }
        // "queremos abrir la tienda", "we want to launch": the sender's own intention; "quiero
        // verlo", "I'd like to see the draft": something for the sender to receive.
        let own_intention = p.kind == VerbKind::Want
            && p.complement.is_some_and(|k| {
                !matches!(
                    k,
                    VerbKind::Feel | VerbKind::Get | VerbKind::Have | VerbKind::Be
                )
            });
        if matches!(p.kind, VerbKind::Need | VerbKind::Want)
            && !(p.person == Some(Person::You) && c.question)
            && p.tense != Tense::Past
            && !own_intention
        {
            return Some("a need or a wish (necesito, need, want)");
        }
        // "te pido que…", "I'm asking you to…"; not "le pediré a Marta…" (a plan).
        if p.kind == VerbKind::Ask
            && matches!(
                p.tense,
                Tense::Present | Tense::Conditional | Tense::Imperative
            )
        {
            return Some("asking Ana for something (te pido que…)");
        }
        // "No lo subas esta noche": a prohibition is a request, negated.
        if p.tense == Tense::Subjunctive && p.person == Some(Person::You) && c.has(Cue::Not) {
            return Some("a prohibition (no lo subas)");
        }
        let first_person = matches!(p.person, Some(Person::I | Person::We));
        let receiving = matches!(p.kind, VerbKind::Have | VerbKind::Get);
        if (c.has(Cue::Must) || p.modal == Some(VerbKind::Must) || p.kind == VerbKind::Must)
            && (!first_person || receiving)
            && p.tense != Tense::Past
        {
            return Some("an obligation on the work (tiene que, must, should be)");
        }
        if p.person == Some(Person::You)
            && matches!(p.tense, Tense::Present | Tense::Base | Tense::Conditional)
            && (matches!(p.kind, VerbKind::Have | VerbKind::Get | VerbKind::Can)
                || (p.kind == VerbKind::Act
                    && (c.question || matches!(p.to, Some(Person::I | Person::We)))))
        {
            return Some("asked of Ana (¿me lo mandas…?, tienes hasta…, you have until…)");
        }
        if p.modal == Some(VerbKind::Can) && matches!(p.person, Some(Person::You)) && c.question {
            return Some("a question asking Ana to act");
        }
    } else if c.has(Cue::Must) {
        return Some("an obligation on the work (tiene que, hay que, must)");
    }
    // "Due: Friday, 5pm", "Plazo: el 15": a deadline label opens the clause before.
    if let Some((pc, _)) = prev
        && pc.sentence == c.sentence
        && pc.label
    {
        return Some("after a deadline label (Due:, Plazo:)");
    }
    // "let me know if…", "dime si…": the question is the request.
    if let Some((pc, _)) = prev
        && c.opener == Opener::If
        && pc.sentence == c.sentence
        && pc.pieces.end == c.pieces.start
        && pc.has(Cue::Ask)
    {
        return Some("the question of a request (let me know if…)");
    }
    None
}

/// The decision table (see the module documentation).
fn decide(
    cx: &Context<'_>,
    clauses: &[Clause],
    preds: &[Option<Predicate>],
    k: usize,
    e: &Expression,
    content_sentences: usize,
) -> (Role, Strength, &'static str) {
    use Role::*;
    use Strength::*;
    let Some(c) = clauses.get(k) else {
        return (Request, Weak, "no clause");
    };
    let p = preds.get(k).copied().flatten();
    let prev = k.checked_sub(1).and_then(|j| {
        clauses
            .get(j)
            .map(|pc| (pc, preds.get(j).copied().flatten()))
    });
    // A fragment opening its sentence before a comma takes the role the clause after it gives
    // ("By October 16, EESI had requested…", "El lunes, tiene que estar lista").
    if !finite(c)
        && c.opener == Opener::Plain
        && e.bound != Bound::After
        && e.what != What::NoDeadline
        && (k == 0 || clauses[k - 1].sentence != c.sentence)
        && clauses
            .get(k + 1)
            .is_some_and(|n| n.sentence == c.sentence && finite(n) && n.opener == Opener::Plain)
        && c.pieces
            .end
            .checked_sub(1)
            .and_then(|b| cx.text.get(cx.pieces[b].1.clone()))
            == Some(",")
    {
        return decide(cx, clauses, preds, k + 1, e, content_sentences);
    }
    // Time words whose kind is their role.
    match e.what {
        What::Span => return (Schedule, Strong, "a range or a recurring time: a schedule"),
        What::Number => {
            return (
                Number,
                Strong,
                "a number that only looks like a time or a date",
            );
        }
        What::Past => {
            return (
                Past,
                Strong,
                "a time in the past (ayer, last Friday, two days ago)",
            );
        }
        What::Stamp => {
            return (
                Dateline,
                Strong,
                "a timestamp (to the second, or a date-time)",
            );
        }
        What::Idiom => return (Idiom, Strong, "an idiom that names a time"),
        _ => {}
    }
    // "World News Tonight", "Good Morning America": a time word inside a name.
    if in_name(cx, e) {
        return (Idiom, Strong, "part of a name (World News Tonight)");
    }
    // 1
    if e.what == What::NoDeadline {
        return (NoDeadline, Strong, "an explicit absence of deadline");
    }
    // 2
    if c.range || c.recurring || adjacent(cx, e, |p| matches!(p, Piece::Range | Piece::Recurring)) {
        return (Schedule, Strong, "a range or a recurring time: a schedule");
    }
    // 3
    if stamped(cx, c, e) || timestamp(cx, e) {
        return (Dateline, Strong, "a timestamp or a dateline");
    }
    // 'Lo de "para mañana"': a time in quotation marks is mentioned, not asked for.
    if quoted(cx, e) {
        return (
            Idiom,
            Strong,
            "a time in quotation marks: mentioned, not asked for",
        );
    }
    // 5
    if e.pieces.start > c.pieces.start
        && matches!(
            prev_content(cx, e.pieces.start, c.pieces.start),
            Some(Piece::Cue(Cue::Idiom))
        )
    {
        return (Idiom, Strong, "part of an idiom");
    }
    let mut evidence = request_evidence(c, p.as_ref(), prev);
    // "Échale un vistazo lo antes posible, por favor": a please tacked on after a comma.
    if evidence.is_none()
        && clauses.get(k + 1).is_some_and(|n| {
            n.sentence == c.sentence
                && n.has(Cue::Please)
                && cx.pieces[n.pieces.clone()].iter().all(|(p, _)| {
                    matches!(
                        p,
                        Piece::Cue(Cue::Please) | Piece::Glue | Piece::Break { .. }
                    )
                })
        })
    {
        evidence = Some("please / por favor, after a comma");
    }
    // "We will need to get TW, Accounting, and Investor review of these ASAP": a fragment of a
    // list after a comma shares the predicate of the clause it continues.
    if evidence.is_none()
        && matches!(e.what, What::Urgent | What::Now)
        && fragment(cx, c)
        && c.opener != Opener::If
    {
        let mut j = k;
        while let Some(b) = j.checked_sub(1) {
            j = b;
            let pc = &clauses[j];
            if pc.sentence != c.sentence {
                break;
            }
            if !fragment(cx, pc) {
                let pprev = j
                    .checked_sub(1)
                    .and_then(|a| clauses.get(a).map(|x| (x, preds.get(a).copied().flatten())));
                evidence = request_evidence(pc, preds.get(j).copied().flatten().as_ref(), pprev)
                    .map(|_| "a fragment of a list that a request governs");
                break;
            }
        }
    }
    // 6
    if c.has(Cue::Negation) || p.is_some_and(|p| p.kind == VerbKind::Cancel) {
        return (Negated, Strong, "a withdrawn demand");
    }
    if c.has(Cue::Not)
        && (evidence.is_some() || c.has(Cue::Deadline))
        && !(c.opener == Opener::If && c.has(Cue::Ask))
    {
        return (Negated, Strong, "a negated request");
    }
    // "the 3 PM one", "the 5:15 train": a clock time after an article qualifies a noun.
    if attributive_clock(cx, e) {
        return (
            Idiom,
            Strong,
            "a clock time qualifying a noun (the 5 pm train)",
        );
    }
    // 7
    if c.opener == Opener::If || conditional_opening(cx, c) {
        let reply = c.has(Cue::Not) && c.has(Cue::Ask);
        // "I'd be grateful if you could send it by Friday": a polite request, not a condition.
        let polite = p.is_some_and(|p| {
            p.person == Some(Person::You)
                && matches!(p.modal, Some(VerbKind::Would | VerbKind::Can))
                && matches!(p.tense, Tense::Conditional)
                && p.kind == VerbKind::Act
        }) && !c.has(Cue::Not);
        // "let me know if you can't attend ASAP": the urgent word asks for the main request.
        let dislocated = e.what == What::Urgent
            && prev.is_some_and(|(pc, pp)| {
                pc.sentence == c.sentence && request_evidence(pc, pp.as_ref(), None).is_some()
            });
        if polite {
            return match e.what {
                What::Urgent | What::Now => (
                    Immediate,
                    Strong,
                    "a polite request (grateful if you could…)",
                ),
                _ => (Request, Strong, "a polite request (grateful if you could…)"),
            };
        }
        if dislocated {
            return (
                Immediate,
                Strong,
                "an urgent word of the request before the condition",
            );
        }
        let question = prev.is_some_and(|(pc, _)| pc.sentence == c.sentence && pc.has(Cue::Ask));
        if reply {
            return (
                Request,
                Strong,
                "\"if I don't hear from you by…\": a reply asked for",
            );
        }
        if !question {
            return (Conditional, Strong, "inside a condition (si…, if…)");
        }
    }
    let conditional_mood = p
        .is_some_and(|p| p.tense == Tense::Conditional || p.modal == Some(VerbKind::Would))
        || cx.pieces[c.pieces.clone()].iter().any(|(piece, span)| {
            // "tendrías que", "habría que", "we'd like", "would love": a cue in the conditional.
            if !matches!(piece, Piece::Cue(_)) {
                return false;
            }
            let words = cx.text.get(span.clone()).unwrap_or("");
            let spanish = crate::lang::folded(words)
                .split_whitespace()
                .next()
                .is_some_and(|w| {
                    ["ria", "rias", "riamos", "rian"]
                        .iter()
                        .any(|s| w.ends_with(s))
                });
            let lower = words.to_ascii_lowercase();
            let english = lower.contains("would") || lower.contains("'d ") || lower.contains("’d ");
            spanish || english
        });
    let hypothetical = conditional_mood
        && clauses.iter().enumerate().any(|(j, o)| {
            // "If possible", "si puedes", "si es posible": a hedge, not a condition.
            let words = cx
                .pieces
                .get(o.pieces.clone())
                .and_then(|ps| Some(ps.first()?.1.start..ps.last()?.1.end))
                .and_then(|r| cx.text.get(r))
                .map_or(0, |t| t.split_whitespace().count());
            let hedge =
                o.verbs.is_empty() && words <= 3
                    || preds.get(j).copied().flatten().is_some_and(|op| {
                        op.person == Some(Person::You) || op.kind == VerbKind::Be
                    });
            o.sentence == c.sentence
                && (o.opener == Opener::If || conditional_opening(cx, o))
                && !o.has(Cue::Ask)
                && !hedge
        });
    if hypothetical {
        return (Conditional, Strong, "a conditional verb beside a condition");
    }
    // 8
    // ("we'd like the shop redesigned by…": a participle after a wish is what is wished.)
    let wish_first = c.cues.iter().any(|(k, cue)| {
        matches!(cue, Cue::Need | Cue::Must | Cue::Ask | Cue::Please)
            && c.verbs.first().is_none_or(|(v, _)| k < v)
    });
    if p.is_some_and(|p| {
        p.tense == Tense::Past || p.tense == Tense::Participle && p.modal.is_none()
    }) && !p.is_some_and(|p| p.imperative)
        && !wish_first
    {
        return (Past, Strong, "the predicate is in the past");
    }
    if c.has(Cue::Past) && evidence.is_none() {
        return (Past, Strong, "said about the past (ayer, yesterday, last)");
    }
    // "Me urge que publiques la oferta": an urgent word governing what is asked.
    if e.what == What::Urgent
        && matches!(
            cx.pieces.get(e.pieces.end).map(|(p, _)| *p),
            Some(Piece::Cue(Cue::Relative))
        )
    {
        return (
            Immediate,
            Strong,
            "an urgent word and what it asks for (me urge que…)",
        );
    }
    // 4: "después del lunes", "a partir del lunes": a start, not a limit, in a request.
    if e.bound == Bound::After && evidence.is_some() {
        return (After, Strong, "a start, not a limit (a partir de, after)");
    }
    // A start with no request around it is no limit either; "desde el martes", "since Monday"
    // say something began in the past.
    if e.bound == Bound::After {
        let since = cx.text[..e.span.start]
            .split_whitespace()
            .rev()
            .take(2)
            .any(|w| matches!(crate::lang::folded(w).as_str(), "desde" | "since"));
        if since && p.is_none_or(|p| !matches!(p.tense, Tense::Future)) {
            return (
                Past,
                Strong,
                "since then (desde el martes): a start in the past",
            );
        }
        return (Event, Weak, "a start, not a limit (a partir de, after)");
    }
    // 9
    if let (Some(_), Some(p)) = (evidence, p)
        && p.kind == VerbKind::Meet
    {
        return (Event, Strong, "a request to meet or to be somewhere");
    }
    if c.has(Cue::Event)
        && c.question
        && p.is_some_and(|p| {
            p.person == Some(Person::You)
                && matches!(p.kind, VerbKind::Be | VerbKind::Have | VerbKind::Can)
        })
    {
        return (Event, Strong, "a question about availability");
    }
    // 10
    if let Some(why) = evidence {
        return match e.what {
            What::Urgent | What::Now => (Immediate, Strong, why),
            _ => (Request, Strong, why),
        };
    }
    let copula_limit = p.is_some_and(|p| {
        p.kind == VerbKind::Be && matches!(p.person, Some(Person::It | Person::They) | None)
    }) && matches!(e.bound, Bound::By | Bound::Before)
        && !c.has(Cue::Event)
        && !c.has(Cue::Schedule);
    if copula_limit {
        return (
            Request,
            Strong,
            "what something is for (es para el viernes)",
        );
    }
    if e.what == What::Urgent && after_copula(cx, e) {
        return (
            Immediate,
            Strong,
            "an urgent word as what something is (es urgente)",
        );
    }
    // 12 before 11: a meeting or an event the sender has ("¿hablamos el martes?", "mañana
    // tenemos la inauguración").
    if p.is_some_and(|p| p.kind == VerbKind::Meet)
        || (c.has(Cue::Event) && p.is_some_and(|p| matches!(p.kind, VerbKind::Have | VerbKind::Be)))
    {
        return (Event, Strong, "a meeting or an event");
    }
    // 11
    if c.has(Cue::Plan)
        || p.is_some_and(|p| {
            matches!(p.person, Some(Person::I | Person::We)) && p.tense != Tense::Past
        })
    {
        return (Plan, Strong, "the sender's own plan (first person)");
    }
    // 12
    if c.has(Cue::Event)
        || p.is_some_and(|p| {
            matches!(p.kind, VerbKind::Happen | VerbKind::Meet) && p.person != Some(Person::You)
        })
    {
        return (
            Event,
            Strong,
            "a happening (an event word, or a verb of happening)",
        );
    }
    // 13
    if c.has(Cue::Schedule) {
        return (Schedule, Strong, "opening hours or availability");
    }
    // 14: "URGENTE:", "ASAP please", "Me urge el logo"; not "NPWLAX URGENT - WEATHER MESSAGE".
    let opens = prev_content(cx, e.pieces.start, c.pieces.start).is_none_or(filler);
    if e.what == What::Urgent
        && !finite(c)
        && !c.has(Cue::Not)
        && (only_time(cx, c) || opens && thing_follows(cx, c, e))
    {
        return (Immediate, Strong, "an urgent word standing alone");
    }
    // 15
    if !finite(c) {
        let instruction = c.verbs.iter().any(|(_, v)| v.tense == Tense::Infinitive);
        if instruction && e.what == What::Time && !c.has(Cue::Perhaps) {
            return (
                Request,
                Strong,
                "an instruction (revisar la web mañana, una semana para terminarlo)",
            );
        }
        if e.what == What::Now {
            let alone = content_sentences == 1 && only_time(cx, c);
            return if alone {
                (Immediate, Strong, "\"now\" standing alone")
            } else {
                (Immediate, Weak, "\"now\" with no request")
            };
        }
        if matches!(e.bound, Bound::By | Bound::Before) && !c.has(Cue::Perhaps) {
            return (
                Request,
                Strong,
                "a fragment with a limit (para mañana, by Friday)",
            );
        }
        if content_sentences == 1 && only_time(cx, c) {
            return (Request, Strong, "a time standing alone");
        }
        if !cx.subject && (thing_follows(cx, c, e) || thing_before(cx, c, e)) {
            return (
                Request,
                Strong,
                "a time and the thing due (mañana a las 10 la maqueta)",
            );
        }
        return (Request, Weak, "a fragment with no request");
    }
    // 16
    match p.and_then(|p| p.person) {
        Some(Person::I | Person::We) => (Plan, Weak, "a statement in the first person"),
        _ => (Event, Weak, "a statement with no request"),
    }
}

/// Whether a time word that is written lowercase in running text stands capitalised inside a
/// run of capitalised words, or alone as a greeting ("Morning!").
fn in_name(cx: &Context<'_>, e: &Expression) -> bool {
    let words = &cx.text[e.span.clone()];
    let lowercase_kind = cx.pieces[e.pieces.clone()].iter().all(|(p, _)| {
        matches!(
            p,
            Piece::Day(DayRef::Today | DayRef::Tomorrow | DayRef::AfterTomorrow)
                | Piece::Part(_)
                | Piece::Period(_)
                | Piece::Now
                | Piece::Glue
        )
    });
    if !lowercase_kind || !words.starts_with(char::is_uppercase) {
        return false;
    }
    let line_start = cx.text[..e.span.start].rfind('\n').map_or(0, |n| n + 1);
    let line_end = cx.text[e.span.end..]
        .find('\n')
        .map_or(cx.text.len(), |n| e.span.end + n);
    let line = &cx.text[line_start..line_end];
    let shouting = line.chars().filter(|c| c.is_lowercase()).count() * 4
        < line.chars().filter(|c| c.is_alphabetic()).count();
    if shouting {
        return false;
    }
    let before = cx.text[line_start..e.span.start].trim_end();
    // "Morning!", "Evening, all": a greeting.
    let after = cx.text[e.span.end..line_end].trim_start();
    if before.is_empty()
        && !words.contains(' ')
        && (after.starts_with('!') || after.starts_with(','))
    {
        return true;
    }
    let prev: Vec<&str> = before.split_whitespace().collect();
    let capital = |w: &&str| w.starts_with(char::is_uppercase);
    // The word before is capitalised, and is not itself the first word of its sentence.
    prev.len() >= 2
        && prev.last().is_some_and(capital)
        && prev
            .get(prev.len() - 2)
            .is_some_and(|w| !w.ends_with(['.', '!', '?', ':']))
}

/// Whether a clause opens a condition without "if": "Should the investors agree, …",
/// "De aprobarse el presupuesto, …".
fn conditional_opening(cx: &Context<'_>, c: &Clause) -> bool {
    let Some(&(at, first)) = c.verbs.first() else {
        return false;
    };
    let opens = cx.pieces.get(c.pieces.start..at).is_some_and(|ps| {
        ps.iter()
            .all(|(p, _)| matches!(p, Piece::Glue | Piece::Break { .. }))
    });
    let first_word = cx
        .pieces
        .get(c.pieces.start)
        .and_then(|(_, s)| cx.text.get(s.clone()))
        .map(crate::lang::folded)
        .unwrap_or_default();
    // "Should the investors agree": "should" opening a statement, then its subject.
    let inverted = first.kind == VerbKind::Must
        && first.tense == Tense::Conditional
        && opens
        && !c.question
        && matches!(
            cx.pieces.get(at + 1).map(|(p, _)| *p),
            Some(Piece::Glue | Piece::Gap)
        );
    // "De aprobarse el presupuesto": "de" and an infinitive.
    let de_infinitive = first_word == "de" && first.tense == Tense::Infinitive && opens;
    inverted || de_infinitive
}

/// Whether an expression stands between quotation marks.
fn quoted(cx: &Context<'_>, e: &Expression) -> bool {
    let before = cx.text[..e.span.start].trim_end().chars().next_back();
    let after = cx.text[e.span.end..].trim_start().chars().next();
    matches!(before, Some('"' | '“' | '«' | '\'')) && matches!(after, Some('"' | '”' | '»' | '\''))
}

/// Whether a bare clock time follows an English article ("the 3 PM one").
fn attributive_clock(cx: &Context<'_>, e: &Expression) -> bool {
    let bare_clock = matches!(
        e.reading.map(|r| r.expr),
        Some(Expr::At {
            day: None,
            clock: Some(_),
            part: None,
            ..
        })
    ) && e.bound == Bound::Point;
    let before = cx.text[..e.span.start].trim_end();
    bare_clock
        && before
            .rsplit(|c: char| !c.is_alphabetic())
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("the"))
}

/// The piece before `at` that is not glue, from `from` on.
fn prev_content(cx: &Context<'_>, at: usize, from: usize) -> Option<Piece> {
    cx.pieces
        .get(from..at)?
        .iter()
        .rev()
        .map(|(p, _)| *p)
        .find(|p| *p != Piece::Glue)
}

/// Whether a piece right next to the expression (glue aside) satisfies `f`.
fn adjacent(cx: &Context<'_>, e: &Expression, f: impl Fn(Piece) -> bool) -> bool {
    let before = cx.pieces[..e.pieces.start]
        .iter()
        .rev()
        .map(|(p, _)| *p)
        .find(|p| *p != Piece::Glue);
    let after = cx.pieces[e.pieces.end.min(cx.pieces.len())..]
        .iter()
        .map(|(p, _)| *p)
        .find(|p| *p != Piece::Glue);
    before.is_some_and(&f) || after.is_some_and(&f)
}

/// Whether the urgent word follows a copula ("es urgente", "this is urgent", "urge").
fn after_copula(cx: &Context<'_>, e: &Expression) -> bool {
    matches!(
        cx.pieces[..e.pieces.start]
            .iter()
            .rev()
            .map(|(p, _)| *p)
            .find(|p| *p != Piece::Glue),
        Some(Piece::Verb(Verb {
            kind: VerbKind::Be,
            ..
        }))
    )
}

/// Whether a clause holds nothing but times (and glue, please, breaks).
fn only_time(cx: &Context<'_>, c: &Clause) -> bool {
    cx.pieces[c.pieces.clone()].iter().all(|(p, _)| {
        is_time(*p)
            || matches!(
                p,
                Piece::Glue
                    | Piece::Break { .. }
                    | Piece::Before
                    | Piece::By
                    | Piece::Zone(_)
                    | Piece::Cue(Cue::Please | Cue::And)
            )
    })
}

/// Spanish telegraphic demands: the time, then an article and the thing ("el viernes los
/// textos"), not a time that qualifies a noun ("weekend projects").
fn thing_follows(cx: &Context<'_>, c: &Clause, e: &Expression) -> bool {
    if !cx.pack.morph.pro_drop {
        return false;
    }
    let rest = &cx.pieces[e.pieces.end.min(c.pieces.end)..c.pieces.end];
    let mut glue = false;
    for (p, _) in rest {
        match p {
            Piece::Glue => glue = true,
            Piece::Gap => return glue,
            _ => return false,
        }
    }
    false
}

/// Spanish telegraphic demands with the thing first: "Borrador el lunes, versión final el
/// viernes" (a noun, the article, the day).
fn thing_before(cx: &Context<'_>, c: &Clause, e: &Expression) -> bool {
    let before = cx.text[..e.span.start].trim_end();
    let article = before
        .rsplit(char::is_whitespace)
        .next()
        .is_some_and(|w| matches!(w.to_lowercase().as_str(), "el" | "la" | "los" | "las"));
    article
        && cx.pack.morph.pro_drop
        && matches!(
            prev_content(cx, e.pieces.start, c.pieces.start),
            Some(Piece::Gap)
        )
}

/// Whether a timestamp label opens the expression's line ("Date: …", "Publicado el 3 de mayo",
/// "Updated 3:45 p.m.").
fn stamped(cx: &Context<'_>, c: &Clause, e: &Expression) -> bool {
    let Some(k) = cx
        .pieces
        .get(c.pieces.start..e.pieces.start)
        .and_then(|ps| ps.iter().rposition(|(p, _)| *p != Piece::Glue))
        .map(|r| c.pieces.start + r)
    else {
        return false;
    };
    let (piece, span) = &cx.pieces[k];
    if *piece != Piece::Cue(Cue::Stamp) {
        return false;
    }
    let line_start = cx.text[..span.start].rfind('\n').map_or(0, |n| n + 1);
    !cx.text[line_start..span.start]
        .chars()
        .any(char::is_alphanumeric)
}

/// Whether an expression is a timestamp: a full date with its year and a clock time or a
/// weekday, or alone on a line of a longer text.
fn timestamp(cx: &Context<'_>, e: &Expression) -> bool {
    let Some(r) = e.reading else {
        return false;
    };
    if matches!(e.bound, Bound::By | Bound::Before) {
        return false;
    }
    if let Expr::At {
        day: Some(DayRef::Date { year: Some(_), .. }),
        clock,
        ..
    } = r.expr
    {
        let weekday = cx.pieces[e.pieces.clone()]
            .iter()
            .any(|(p, _)| matches!(p, Piece::Day(DayRef::Weekday(..))));
        if clock.is_some() || weekday {
            return true;
        }
    }
    // Alone on its line, in a text of several lines: a heading, a log line, a dateline.
    let line_start = cx.text[..e.span.start].rfind('\n').map_or(0, |n| n + 1);
    // "MADRID, 3 mar 2026 (EFE).": a place in capitals, a comma, the date with its year.
    let lead = cx.text[line_start..e.span.start].trim();
    let place = lead.strip_suffix(',').is_some_and(|p| {
        p.chars().any(char::is_alphabetic) && p.chars().all(|c| !c.is_lowercase())
    });
    if place
        && matches!(
            r.expr,
            Expr::At {
                day: Some(DayRef::Date { .. }),
                ..
            }
        )
    {
        return true;
    }
    // "Valencia, 7 de octubre de 2024.", "… · 09 may 2025": a full date with its year heading a
    // line or closing a headline, with no verb around it.
    let clause_verbless = !cx.pieces[..e.pieces.start]
        .iter()
        .rev()
        .take_while(|(p, _)| !matches!(p, Piece::Break { strong: true }))
        .chain(
            cx.pieces[e.pieces.end.min(cx.pieces.len())..]
                .iter()
                .take_while(|(p, _)| !matches!(p, Piece::Break { strong: true })),
        )
        .any(|(p, _)| {
            matches!(
                p,
                Piece::Verb(_) | Piece::Cue(Cue::Please | Cue::Ask | Cue::Need | Cue::Must)
            )
        });
    let headed = {
        let lead = cx.text[line_start..e.span.start].trim_end();
        lead.ends_with([',', '·', '|', '-', '–', '—']) && lead.chars().any(char::is_alphabetic)
    };
    if clause_verbless
        && headed
        && matches!(
            r.expr,
            Expr::At {
                day: Some(DayRef::Date {
                    year: Some(_),
                    month: Some(_),
                    ..
                }),
                ..
            }
        )
    {
        return true;
    }
    let line_end = cx.text[e.span.end..]
        .find('\n')
        .map_or(cx.text.len(), |n| e.span.end + n);
    let multi_line = || cx.text.trim().contains('\n');
    let rest = || {
        cx.text[line_start..e.span.start]
            .chars()
            .chain(cx.text[e.span.end..line_end].chars())
    };
    matches!(
        r.expr,
        Expr::At {
            day: Some(DayRef::Date { .. }),
            ..
        }
    ) && rest().all(|ch| !ch.is_alphabetic())
        && rest().any(|ch| ch.is_ascii_digit() || ch == ':')
        && multi_line()
}

/// Ties: a request pointing at an event takes the event's time.
fn tie(_cx: &Context<'_>, clauses: &[Clause], preds: &[Option<Predicate>], out: &mut [Judged]) {
    let clause_of = |piece: usize| clauses.iter().position(|c| c.pieces.contains(&piece));
    for (k, c) in clauses.iter().enumerate() {
        if c.anaphors.is_empty() || c.has(Cue::Negation) {
            continue;
        }
        let prev = k.checked_sub(1).and_then(|j| {
            clauses
                .get(j)
                .map(|pc| (pc, preds.get(j).copied().flatten()))
        });
        let asks = request_evidence(c, preds.get(k).copied().flatten().as_ref(), prev).is_some();
        if !asks {
            continue;
        }
        for &(at, names_event) in &c.anaphors {
            let target = |j: &Judged| {
                (matches!(j.role, Role::Event | Role::Plan)
                    || j.role == Role::Request && j.strength == Strength::Weak)
                    && j.expr.reading.is_some()
                    && j.expr.what == What::Time
            };
            let sentence_of =
                |j: &Judged| clause_of(j.expr.pieces.start).map(|x| clauses[x].sentence);
            let before = out.iter().rposition(|j| {
                target(j)
                    && j.expr.pieces.end <= at
                    && sentence_of(j).is_some_and(|s| s + 2 >= c.sentence)
            });
            let after = out.iter().position(|j| {
                target(j) && j.expr.pieces.start > at && sentence_of(j) == Some(c.sentence)
            });
            // "antes de que abra la tienda, que abre a las 12": a named event's time usually
            // follows; a bare "antes" points back.
            let found = if names_event {
                after.or(before)
            } else {
                before.or(after)
            };
            if let Some(t) = found {
                out[t].role = Role::Tied;
                out[t].strength = Strength::Strong;
                out[t].why = "the time of an event a request points at";
            }
        }
    }
}
