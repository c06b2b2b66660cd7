//! From pieces to expressions: groups neighbouring time pieces into one expression each.
//!
//! Pieces next to each other (joined only by glue words such as "de", "the", "at") form one
//! expression: "el viernes a las 12", "by 6pm Eastern today", "antes del 20 de mayo a las 9".
//! Each expression keeps how it is bounded ("para", "by" and "antes de" make a limit; "después
//! de", "a partir de" a start), where it is in the text and which pieces it spans, so that the
//! role step can look at the clause around it. A comma does not split "Monday, June 2" or
//! "Friday, 5pm". This step knows no language and decides nothing about demands.

use std::ops::Range;

use super::expr::{Expr, Reading};
use crate::lang::vocab::{Cue, DayRef, Part, Period, Piece, WeekdayMode};
use crate::zone::Zone;

/// How an expression is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// No limit word: "el viernes", "tomorrow at 5".
    Point,
    /// para, by, hasta, due: the expression is a limit.
    By,
    /// antes de, before: the expression is a limit, a day means the day before.
    Before,
    /// después de, after, a partir de: the expression is a start, not a limit.
    After,
}

/// What an expression says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    /// A time: a day, a clock time, a duration, a period.
    Time,
    /// A word urgent by itself: ASAP, urgente, lo antes posible.
    Urgent,
    /// "now", "ahora", "ya": immediate where the clause asks for something.
    Now,
    /// An explicit absence of deadline: sin prisa, no rush.
    NoDeadline,
    /// A range or a recurrence: "de 10 a 20h", "los lunes".
    Span,
    /// A number that only looks like a time: "[PATCH 2/2]", "v1.10".
    Number,
    /// A time past by itself: ayer, last Friday, two days ago.
    Past,
    /// A time with no instant: a month, a season, a year, a quarter alone.
    Vague,
    /// A timestamp: to the second, or an ISO date-time.
    Stamp,
    /// Words that look like a time but are an idiom here: good morning, at a glance.
    Idiom,
}

/// One expression found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    /// What it says.
    pub what: What,
    /// What it means, when it names a time (immediate words mean now).
    pub reading: Option<Reading>,
    /// Byte span of its words in the text.
    pub span: Range<usize>,
    /// The pieces it spans (indices into the piece list).
    pub pieces: Range<usize>,
    /// How it is bounded.
    pub bound: Bound,
}

/// An expression being assembled from neighbouring pieces.
#[derive(Debug, Default, Clone)]
struct Group {
    before: bool,
    by: bool,
    /// The limit came from a deadline word ("due date"), which does not reach past a comma.
    label: bool,
    day: Option<DayRef>,
    clock: Option<crate::lang::vocab::Clock>,
    part: Option<Part>,
    period: Option<Period>,
    single: Option<(Expr, What)>,
    zone: Option<Zone>,
    span: Option<Range<usize>>,
    pieces: Option<Range<usize>>,
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

    fn extend(&mut self, span: &Range<usize>, idx: usize) {
        self.span = Some(match self.span.take() {
            Some(s) => s.start.min(span.start)..s.end.max(span.end),
            None => span.clone(),
        });
        self.pieces = Some(match self.pieces.take() {
            Some(p) => p.start.min(idx)..p.end.max(idx + 1),
            None => idx..idx + 1,
        });
    }

    fn reading(&self) -> Option<(Reading, What)> {
        let (expr, what) = if let Some(s) = self.single {
            s
        } else if let Some(p) = self.period {
            (Expr::Period(p), What::Time)
        } else if self.day.is_some() || self.clock.is_some() || self.part.is_some() {
            (
                Expr::At {
                    day: self.day,
                    clock: self.clock,
                    part: self.part,
                    before: self.before,
                },
                What::Time,
            )
        } else {
            return None;
        };
        Some((
            Reading {
                expr,
                zone: self.zone,
            },
            what,
        ))
    }
}

/// The state of one pass over the pieces.
#[derive(Default)]
struct Pass {
    out: Vec<Expression>,
    group: Group,
    /// The next expression starts after "después de", "a partir de".
    after: bool,
    /// The day of the last expression that named one, for "ese día", "that day".
    last_day: Option<DayRef>,
    /// "ese día" said in this clause, waiting for its time ("ese día abrimos a las 11"): the day,
    /// its span and piece.
    that_day: Option<(DayRef, Range<usize>, usize)>,
}

impl Pass {
    /// Ends the group being built, keeping it when it means something.
    fn close(&mut self) {
        let mut g = std::mem::take(&mut self.group);
        if g.day.is_none()
            && (g.clock.is_some() || g.part.is_some())
            && let Some((d, span, idx)) = self.that_day.take()
        {
            g.day = Some(d);
            g.extend(&span, idx);
        }
        if g.day.is_some() {
            self.last_day = g.day;
        }
        if let (Some((reading, what)), Some(span), Some(pieces)) = (g.reading(), g.span, g.pieces) {
            let bound = if self.after {
                Bound::After
            } else if g.before {
                Bound::Before
            } else if g.by {
                Bound::By
            } else {
                Bound::Point
            };
            self.after = false;
            self.out.push(Expression {
                what,
                reading: Some(reading),
                span,
                pieces,
                bound,
            });
        }
    }

    /// Adds a one-piece expression (now, a duration) as its own group.
    fn single(&mut self, expr: Expr, what: What, span: &Range<usize>, idx: usize) {
        if !self.group.marker_only || !self.group.is_empty() {
            self.close();
        }
        self.group.single = Some((expr, what));
        self.group.extend(span, idx);
        self.close();
    }
}

/// Every expression of a piece list, in text order.
pub fn expressions(pieces: &[(Piece, Range<usize>)]) -> Vec<Expression> {
    let mut p = Pass::default();
    for (idx, (piece, span)) in pieces.iter().enumerate() {
        match *piece {
            Piece::Break { strong } => {
                // "Monday, June 2": the date decides; "Friday, 5pm": the time is on that day.
                let g = &p.group;
                let next = pieces.get(idx + 1).map(|(p, _)| *p);
                let date_follows = matches!(g.day, Some(DayRef::Weekday(..)))
                    && matches!(next, Some(Piece::Day(DayRef::Date { month: Some(_), .. })));
                let time_follows = g.day.is_some()
                    && g.clock.is_none()
                    && g.part.is_none()
                    && matches!(next, Some(Piece::Clock(_)));
                // "como mucho, el martes", "Due: Friday": a limit word keeps its time across a
                // comma or a colon.
                let marker_waits = p.group.marker_only && p.group.is_empty() && !p.group.label;
                if !strong && (date_follows || time_follows || marker_waits) {
                    continue;
                }
                p.close();
                p.after = false;
                // "entrégalo ese día": the day alone.
                if let Some((d, span, idx)) = p.that_day.take() {
                    p.group.day = Some(d);
                    p.group.extend(&span, idx);
                    p.close();
                }
            }
            Piece::Glue => {}
            Piece::Cue(Cue::Deadline) => {
                // "due Friday", "el plazo es el 15": what follows is a limit.
                p.close();
                p.group.by = true;
                p.group.label = true;
                p.group.marker_only = true;
            }
            Piece::NoDeadline => {
                p.close();
                p.out.push(Expression {
                    what: What::NoDeadline,
                    reading: None,
                    span: span.clone(),
                    pieces: idx..idx + 1,
                    bound: Bound::Point,
                });
            }
            Piece::Before | Piece::By => {
                // "mañana antes de las 12", "today before 8pm": a day, then the time on it.
                let g = &p.group;
                let day_then_time = g.day.is_some()
                    && g.clock.is_none()
                    && g.part.is_none()
                    && matches!(
                        next_content(pieces, idx + 1),
                        Some(Piece::Clock(_) | Piece::Part(_))
                    );
                if day_then_time {
                    p.group.before |= *piece == Piece::Before;
                    p.group.extend(span, idx);
                } else {
                    p.close();
                    p.group.before = *piece == Piece::Before;
                    p.group.by = *piece == Piece::By;
                    p.group.marker_only = true;
                    p.group.extend(span, idx);
                }
            }
            Piece::After => {
                p.close();
                p.after = true;
            }
            Piece::Urgent => p.single(Expr::Now, What::Urgent, span, idx),
            Piece::Now => p.single(Expr::Now, What::Now, span, idx),
            Piece::Elapsed(seconds) => p.single(Expr::Elapsed { seconds }, What::Time, span, idx),
            Piece::Days { days, business } => {
                p.single(Expr::Days { days, business }, What::Time, span, idx)
            }
            Piece::Day(d) => {
                let g = &mut p.group;
                let merged = match (g.day, d) {
                    (None, _) => {
                        if let (Some(Period::NextWeek), DayRef::Weekday(w, _)) = (g.period, d) {
                            g.period = None;
                            g.day = Some(DayRef::Weekday(w, WeekdayMode::NextWeek));
                            true
                        } else if g.period.is_some() {
                            false
                        } else {
                            g.day = Some(d);
                            true
                        }
                    }
                    (Some(DayRef::Weekday(..)), DayRef::Date { .. }) => {
                        g.day = Some(d);
                        true
                    }
                    (Some(DayRef::Date { .. }), DayRef::Weekday(..)) => true,
                    _ => false,
                };
                if !merged {
                    p.close();
                    p.group.day = Some(d);
                }
                p.group.extend(span, idx);
            }
            Piece::Clock(c) => {
                let g = &p.group;
                if g.clock.is_some() || g.period.is_some() || g.single.is_some() {
                    p.close();
                }
                p.group.clock = Some(c);
                p.group.extend(span, idx);
            }
            Piece::Part(part) => {
                match p.group.part.map(|q| same_part(q, part)) {
                    // "first thing Monday morning", "tonight at midnight": one part said twice.
                    Some(Some(merged)) => p.group.part = Some(merged),
                    _ => {
                        let g = &p.group;
                        if g.part.is_some() || g.period.is_some() || g.single.is_some() {
                            p.close();
                        }
                        p.group.part = Some(part);
                    }
                }
                p.group.extend(span, idx);
            }
            Piece::Period(per) => {
                if per == Period::NextWeek
                    && let Some(DayRef::Weekday(w, _)) = p.group.day
                {
                    p.group.day = Some(DayRef::Weekday(w, WeekdayMode::NextWeek));
                    p.group.extend(span, idx);
                    continue;
                }
                if !p.group.is_empty() {
                    p.close();
                }
                p.group.period = Some(per);
                p.group.extend(span, idx);
            }
            Piece::Zone(z) => {
                if !p.group.is_empty() && p.group.zone.is_none() {
                    p.group.zone = Some(z);
                    p.group.extend(span, idx);
                } else if let Some(last) = p.out.last_mut()
                    && p.group.is_empty()
                    && last.what == What::Time
                    && last.pieces.end + 1 >= idx
                    && let Some(r) = last.reading.as_mut()
                    && r.zone.is_none()
                {
                    r.zone = Some(z);
                    last.span.end = last.span.end.max(span.end);
                    last.pieces.end = idx + 1;
                }
            }
            Piece::ThatDay => {
                // "ese día abrimos a las 11": the day named last, for the next time said.
                if let Some(d) = p.last_day {
                    p.that_day = Some((d, span.clone(), idx));
                }
            }
            Piece::Range
            | Piece::Recurring
            | Piece::Number
            | Piece::PastTime
            | Piece::Vague
            | Piece::Timestamp
            | Piece::Cue(Cue::Idiom) => {
                // Time words that name no limit are shown with their role too.
                let bound = if p.group.marker_only && p.group.is_empty() {
                    if p.group.before {
                        Bound::Before
                    } else if p.group.by {
                        Bound::By
                    } else {
                        Bound::Point
                    }
                } else if p.after {
                    Bound::After
                } else {
                    Bound::Point
                };
                let start = if p.group.marker_only && p.group.is_empty() {
                    p.group.span.as_ref().map_or(span.start, |s| s.start)
                } else {
                    span.start
                };
                p.close();
                p.after = false;
                let what = match piece {
                    Piece::Range | Piece::Recurring => What::Span,
                    Piece::Number => What::Number,
                    Piece::PastTime => What::Past,
                    Piece::Vague => What::Vague,
                    Piece::Timestamp => What::Stamp,
                    _ => What::Idiom,
                };
                p.out.push(Expression {
                    what,
                    reading: None,
                    span: start..span.end,
                    pieces: idx..idx + 1,
                    bound,
                });
            }
            Piece::Anaphor | Piece::Verb(_) | Piece::Subject(_) | Piece::Cue(_) | Piece::Gap => {
                p.close();
                // "después del lunes": the start word binds only the time right after it.
                p.after = false;
            }
        }
    }
    p.close();
    p.out
}

/// One part of the day named twice in two ways, as the more precise of the two.
fn same_part(a: Part, b: Part) -> Option<Part> {
    use Part::{FirstThing, Midnight, Morning, Night};
    match (a, b) {
        (FirstThing, Morning) | (Morning, FirstThing) => Some(FirstThing),
        (Night, Midnight) | (Midnight, Night) => Some(Midnight),
        _ if a == b => Some(a),
        _ => None,
    }
}

/// The first piece from `from` on that is not glue.
fn next_content(pieces: &[(Piece, Range<usize>)], from: usize) -> Option<Piece> {
    pieces
        .get(from..)?
        .iter()
        .map(|(p, _)| *p)
        .find(|p| *p != Piece::Glue)
}
