//! From pieces to readings: groups neighbouring pieces into expressions and decides, clause by
//! clause, which of them are demands.
//!
//! This step is shared by every language. It knows the conventions' rules about what counts:
//!
//! - pieces next to each other (joined only by glue words such as "de", "the", "at") form one
//!   expression: "el viernes a las 12", "by 6pm Eastern today", "antes del 20 de mayo a las 9";
//! - a clause (between , ; : . ! ? or line ends) with an event word and no demand word is an
//!   event ("Mañana tengo dentista a las 9"), a clause with a negation is cancelled, a clause
//!   about the past is ignored, and a clause starting with "que"/"which" continues the one before;
//! - a demand that points at an event ("tenlo antes", "before that", "antes de la reunión")
//!   takes the event's time;
//! - a bare "now" closing a statement-like clause ("The logo should change now.") gives way to
//!   an explicit "no rush" anywhere in the text (the grammar decides which "now"s are bare);
//! - everything else with a time is a demand.

use std::ops::Range;

use super::expr::{DayRef, Expr, Period, Reading, WeekdayMode};
use super::grammar::{Cue, Piece, Spanned};
use crate::zone::Zone;

/// Whether a reading counts as a demand, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The client asks for it by then.
    Demand,
    /// The time of an event that a demand refers to ("tenlo antes").
    Tied,
    /// The time of an event or of the sender's own plans, not a demand.
    Event,
    /// A demand withdrawn or negated.
    Negated,
    /// Said about the past.
    Past,
    /// An explicit "no deadline" (sin prisa, no rush).
    NoDeadline,
}

impl Status {
    /// Whether the reading sets a deadline.
    pub fn counts(self) -> bool {
        matches!(self, Status::Demand | Status::Tied)
    }
}

/// One expression found in a text, with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// What it means (none for an explicit "no deadline").
    pub reading: Option<Reading>,
    /// Byte span of the words in the text.
    pub span: Range<usize>,
    /// Whether it counts.
    pub status: Status,
}

/// An expression being assembled from neighbouring pieces.
#[derive(Debug, Default, Clone)]
struct Group {
    before: bool,
    day: Option<DayRef>,
    clock: Option<super::expr::Clock>,
    part: Option<super::expr::Part>,
    period: Option<Period>,
    single: Option<Expr>,
    zone: Option<Zone>,
    span: Option<Range<usize>>,
    /// Only a "before"/"by" so far.
    marker_only: bool,
}

impl Group {
    fn is_empty(&self) -> bool {
        self.day.is_none()
            && self.clock.is_none()
            && self.part.is_none()
            && self.period.is_none()
            && self.single.is_none()
    }

    fn extend(&mut self, span: &Range<usize>) {
        self.span = Some(match self.span.take() {
            Some(s) => s.start.min(span.start)..s.end.max(span.end),
            None => span.clone(),
        });
    }

    fn reading(&self) -> Option<Reading> {
        let expr = if let Some(e) = self.single {
            e
        } else if let Some(p) = self.period {
            Expr::Period(p)
        } else if self.day.is_some() || self.clock.is_some() || self.part.is_some() {
            Expr::At {
                day: self.day,
                clock: self.clock,
                part: self.part,
                before: self.before,
            }
        } else {
            return None;
        };
        Some(Reading {
            expr,
            zone: self.zone,
        })
    }
}

/// A clause's expressions and cues.
#[derive(Debug, Default)]
struct Clause {
    groups: Vec<(Reading, Range<usize>)>,
    no_deadline: Vec<Range<usize>>,
    /// Bare "now"s that yield to an explicit "no rush" in the same text.
    bare_now: Vec<Range<usize>>,
    anaphors: Vec<usize>,
    demand: bool,
    event: bool,
    negation: bool,
    past: bool,
    relative_start: bool,
    sentence: usize,
}

/// Reads the pieces of one text into expressions with their status, in text order.
pub fn compose(pieces: &[Spanned]) -> Vec<Found> {
    let clauses = split(pieces);
    let mut roles = Vec::with_capacity(clauses.len());
    for (k, c) in clauses.iter().enumerate() {
        let inherited = if c.relative_start {
            k.checked_sub(1).and_then(|p| roles.get(p)).copied()
        } else {
            None
        };
        let role = if c.negation {
            Status::Negated
        } else if c.past && !c.demand {
            Status::Past
        } else if c.event && !c.demand {
            Status::Event
        } else if let Some(r @ (Status::Event | Status::Past | Status::Negated)) = inherited {
            r
        } else {
            Status::Demand
        };
        roles.push(role);
    }
    let mut found = Vec::new();
    for (c, role) in clauses.iter().zip(&roles) {
        for (reading, span) in &c.groups {
            found.push(Found {
                reading: Some(*reading),
                span: span.clone(),
                status: *role,
            });
        }
        for span in &c.no_deadline {
            found.push(Found {
                reading: None,
                span: span.clone(),
                status: Status::NoDeadline,
            });
        }
    }
    // A bare "now" ("Fix it now.") said in a text that also says "no rush" is no demand: the
    // explicit absence of a deadline wins over a word that only may be one.
    if found.iter().any(|f| f.status == Status::NoDeadline) {
        for span in clauses.iter().flat_map(|c| &c.bare_now) {
            for f in found.iter_mut().filter(|f| f.span == *span) {
                f.status = Status::NoDeadline;
            }
        }
    }
    // A demand pointing at an event takes the event's time: the nearest event before it, or
    // else the first one after it in the same sentence.
    for (k, (c, role)) in clauses.iter().zip(&roles).enumerate() {
        if *role == Status::Negated || c.anaphors.is_empty() {
            continue;
        }
        for &at in &c.anaphors {
            let is_event = |f: &Found| f.status == Status::Event && f.reading.is_some();
            let target = found
                .iter()
                .rposition(|f| is_event(f) && f.span.end <= at)
                .or_else(|| {
                    let sentence_end = clauses
                        .iter()
                        .skip(k)
                        .take_while(|x| x.sentence == c.sentence)
                        .flat_map(|x| x.groups.last().map(|g| g.1.end))
                        .max()
                        .unwrap_or(at);
                    found.iter().position(|f| {
                        is_event(f) && f.span.start >= at && f.span.end <= sentence_end
                    })
                });
            if let Some(f) = target.and_then(|t| found.get_mut(t)) {
                f.status = Status::Tied;
            }
        }
    }
    found
}

/// Splits pieces into clauses and builds each clause's groups.
fn split(pieces: &[Spanned]) -> Vec<Clause> {
    let mut clauses = Vec::new();
    let mut clause = Clause::default();
    let mut group = Group::default();
    let mut sentence = 0;
    let mut first_in_clause = true;
    let mut pending_before = false;
    for (idx, (piece, span)) in pieces.iter().enumerate() {
        match *piece {
            Piece::Break { strong } => {
                // "Monday, June 2": the date decides; "Friday, 5pm": the time is on that day.
                // A comma between them does not split them.
                let next = pieces.get(idx + 1).map(|(p, _)| *p);
                let date_follows = matches!(group.day, Some(DayRef::Weekday(..)))
                    && matches!(next, Some(Piece::Day(DayRef::Date { month: Some(_), .. })));
                let time_follows = group.day.is_some()
                    && group.clock.is_none()
                    && group.part.is_none()
                    && matches!(next, Some(Piece::Clock(_)));
                if !strong && (date_follows || time_follows) {
                    continue;
                }
                // "necesito el informe antes." / "I need it before.": points at an event.
                dangling_before(&group, &mut clause);
                close(&mut group, &mut clause);
                clause.sentence = sentence;
                clauses.push(std::mem::take(&mut clause));
                if strong {
                    sentence += 1;
                }
                first_in_clause = true;
                pending_before = false;
                continue;
            }
            Piece::Glue => {
                continue;
            }
            Piece::Cue(Cue::Relative) if first_in_clause => clause.relative_start = true,
            Piece::Cue(cue) => {
                close(&mut group, &mut clause);
                match cue {
                    Cue::Demand => clause.demand = true,
                    Cue::Event => {
                        clause.event = true;
                        if pending_before {
                            clause.anaphors.push(span.start);
                        }
                    }
                    Cue::Negation => clause.negation = true,
                    Cue::Past => clause.past = true,
                    Cue::Relative => {}
                }
            }
            Piece::Anaphor => {
                close(&mut group, &mut clause);
                clause.anaphors.push(span.start);
            }
            Piece::Gap => close(&mut group, &mut clause),
            Piece::NoDeadline => {
                close(&mut group, &mut clause);
                clause.no_deadline.push(span.clone());
            }
            Piece::Before | Piece::By => {
                // "mañana antes de las 12", "today before 8pm": a day, then the time on it.
                let day_then_time = group.day.is_some()
                    && group.clock.is_none()
                    && group.part.is_none()
                    && matches!(
                        next_content(pieces, idx + 1),
                        Some(Piece::Clock(_) | Piece::Part(_))
                    );
                if day_then_time {
                    group.before |= *piece == Piece::Before;
                    group.extend(span);
                } else {
                    close(&mut group, &mut clause);
                    group.before = *piece == Piece::Before;
                    group.marker_only = true;
                    group.extend(span);
                }
            }
            Piece::Now => single(&mut group, &mut clause, Expr::Now, span),
            Piece::BareNow => {
                single(&mut group, &mut clause, Expr::Now, span);
                clause.bare_now.push(span.clone());
            }
            Piece::Elapsed(seconds) => {
                single(&mut group, &mut clause, Expr::Elapsed { seconds }, span)
            }
            Piece::Days { days, business } => {
                single(&mut group, &mut clause, Expr::Days { days, business }, span)
            }
            Piece::Day(d) => {
                let merged = match (group.day, d) {
                    (None, _) => {
                        if let (Some(Period::NextWeek), DayRef::Weekday(w, _)) = (group.period, d) {
                            group.period = None;
                            group.day = Some(DayRef::Weekday(w, WeekdayMode::NextWeek));
                        } else if group.period.is_some() {
                            close(&mut group, &mut clause);
                            group.day = Some(d);
                        } else {
                            group.day = Some(d);
                        }
                        true
                    }
                    (Some(DayRef::Weekday(..)), DayRef::Date { .. }) => {
                        group.day = Some(d);
                        true
                    }
                    (Some(DayRef::Date { .. }), DayRef::Weekday(..)) => true,
                    _ => false,
                };
                if !merged {
                    close(&mut group, &mut clause);
                    group.day = Some(d);
                }
                group.extend(span);
            }
            Piece::Clock(c) => {
                if group.clock.is_some() || group.period.is_some() || group.single.is_some() {
                    close(&mut group, &mut clause);
                }
                group.clock = Some(c);
                group.extend(span);
            }
            Piece::Part(p) => {
                match group.part.map(|q| same_part(q, p)) {
                    // "first thing Monday morning", "tonight at midnight": one part said twice.
                    Some(Some(merged)) => group.part = Some(merged),
                    _ => {
                        if group.part.is_some() || group.period.is_some() || group.single.is_some()
                        {
                            close(&mut group, &mut clause);
                        }
                        group.part = Some(p);
                    }
                }
                group.extend(span);
            }
            Piece::Period(p) => {
                if p == Period::NextWeek
                    && let Some(DayRef::Weekday(w, _)) = group.day
                {
                    group.day = Some(DayRef::Weekday(w, WeekdayMode::NextWeek));
                    group.extend(span);
                    first_in_clause = false;
                    continue;
                }
                if !group.is_empty() {
                    close(&mut group, &mut clause);
                }
                group.period = Some(p);
                group.extend(span);
            }
            Piece::Zone(z) => {
                if !group.is_empty() && group.zone.is_none() {
                    group.zone = Some(z);
                    group.extend(span);
                } else if let Some((r, s)) = clause.groups.last_mut()
                    && group.is_empty()
                    && r.zone.is_none()
                {
                    r.zone = Some(z);
                    s.end = s.end.max(span.end);
                }
            }
        }
        pending_before = *piece == Piece::Before;
        first_in_clause = false;
    }
    dangling_before(&group, &mut clause);
    close(&mut group, &mut clause);
    clause.sentence = sentence;
    clauses.push(clause);
    clauses
}

/// A "before" with nothing after it in its clause points at an event ("I need it before.").
fn dangling_before(group: &Group, clause: &mut Clause) {
    if let Some(span) = group
        .span
        .as_ref()
        .filter(|_| group.before && group.marker_only && group.is_empty())
    {
        clause.anaphors.push(span.start);
    }
}

/// One part of the day named twice in two ways, as the more precise of the two.
fn same_part(a: super::expr::Part, b: super::expr::Part) -> Option<super::expr::Part> {
    use super::expr::Part::{FirstThing, Midnight, Morning, Night};
    match (a, b) {
        (FirstThing, Morning) | (Morning, FirstThing) => Some(FirstThing),
        (Night, Midnight) | (Midnight, Night) => Some(Midnight),
        _ if a == b => Some(a),
        _ => None,
    }
}

/// The first piece from `from` on that is not glue.
fn next_content(pieces: &[Spanned], from: usize) -> Option<Piece> {
    pieces
        .get(from..)?
        .iter()
        .map(|(p, _)| *p)
        .find(|p| *p != Piece::Glue)
}

/// Adds a one-piece expression (now, a duration) as its own group.
fn single(group: &mut Group, clause: &mut Clause, expr: Expr, span: &Range<usize>) {
    if !group.marker_only || !group.is_empty() {
        close(group, clause);
    }
    group.single = Some(expr);
    group.extend(span);
    close(group, clause);
}

/// Ends the group being built, keeping it when it means something.
fn close(group: &mut Group, clause: &mut Clause) {
    let g = std::mem::take(group);
    if let (Some(reading), Some(span)) = (g.reading(), g.span) {
        clause.groups.push((reading, span));
    }
}
