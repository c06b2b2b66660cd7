//! The vocabulary every language pack is written in: what a word or phrase can mean to plazo.
//!
//! A pack (`es.rs`, `en.rs`) maps its own words to these values; the extractor only ever sees
//! the values, so the machinery that reads them (grammar, morphology, clauses, roles, the
//! resolver) is the same for every language. Two kinds of meaning live here:
//!
//! - **time values**: a day, a clock time, a part of the day, a period ([`DayRef`], [`Clock`],
//!   [`Part`], [`Period`]), read from the words and later pinned to an instant;
//! - **clause words**: what a word says about the clause it stands in ([`Cue`]) and what a verb
//!   form says about its predicate ([`Verb`]: its kind, person, tense and mood).

use std::fmt;

use chrono::Weekday;

use crate::zone::Zone;

/// A day, named without a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRef {
    /// hoy, today.
    Today,
    /// mañana, tomorrow.
    Tomorrow,
    /// pasado mañana, the day after tomorrow.
    AfterTomorrow,
    /// A weekday, read as `mode` says.
    Weekday(Weekday, WeekdayMode),
    /// A calendar date; missing parts mean the next occurrence on or after today.
    Date {
        /// Day of the month, 1–31.
        day: u32,
        /// Month, 1–12, when given.
        month: Option<u32>,
        /// Full year, when given.
        year: Option<i32>,
    },
}

/// How a weekday is counted from today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeekdayMode {
    /// "viernes", "el próximo viernes", "next Friday": 1 to 7 days ahead.
    Next,
    /// "este viernes", "this Friday": today if it is that day, else the next one.
    This,
    /// "el viernes de la semana que viene", "Friday next week": in next Monday–Sunday week.
    NextWeek,
}

/// A part of the day; the deadline is the end of the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// a primera hora, first thing: 09:00.
    FirstThing,
    /// por la mañana, morning: 12:00.
    Morning,
    /// mediodía, noon: 12:00.
    Noon,
    /// por la tarde, afternoon: 18:00.
    Afternoon,
    /// EOD, close of business, al final del día: 18:00.
    EndOfDay,
    /// esta noche, tonight, evening: 23:59:59.
    Night,
    /// madrugada, the small hours: only meaningful with a clock time.
    SmallHours,
    /// medianoche, midnight: 23:59:59 of the day it closes.
    Midnight,
}

/// Whether a clock time said which half of the day it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meridiem {
    /// am, a.m.
    Am,
    /// pm, p.m.
    Pm,
    /// A 24-hour time that cannot be read otherwise (17:30, 17h, 0:15).
    Full,
    /// An hour alone (a las 5, at 2): 1–7 afternoon, 8–11 morning, 12 noon.
    Bare,
}

/// A clock time as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Hour as written, 0–24.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Which half of the day, if said.
    pub meridiem: Meridiem,
}

impl Clock {
    /// The 24-hour time this clock means, given the part of the day said with it.
    pub fn hour_minute(self, part: Option<Part>) -> (u32, u32) {
        let h = self.hour % 24;
        let hour = match (self.meridiem, part) {
            (Meridiem::Full, _) => h,
            (Meridiem::Am, _) => h % 12,
            (Meridiem::Pm, _) => h % 12 + 12,
            (Meridiem::Bare, Some(Part::Morning | Part::FirstThing | Part::SmallHours)) => h % 12,
            (Meridiem::Bare, Some(Part::Afternoon | Part::EndOfDay)) => h % 12 + 12,
            (Meridiem::Bare, Some(Part::Night | Part::Midnight)) => match h {
                6..=11 => h + 12,
                12 => 0,
                _ => h,
            },
            (Meridiem::Bare, Some(Part::Noon)) => {
                if h <= 5 {
                    h % 12 + 12
                } else {
                    h
                }
            }
            (Meridiem::Bare, None) => match h {
                1..=7 => h + 12,
                _ => h,
            },
        };
        (hour, self.minute)
    }
}

/// A named stretch of time whose deadline is fixed by the conventions (section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// esta semana, end of the week, EOW: Friday 18:00 of this week.
    ThisWeek,
    /// la semana que viene, next week: Friday 18:00 of next week.
    NextWeek,
    /// para el fin de semana, by the weekend: Friday 18:00 of this week.
    Weekend,
    /// durante el fin de semana, over the weekend: Sunday 23:59:59 of this week.
    OverWeekend,
    /// fin de mes, end of the month: 18:00 on its last day.
    EndOfMonth,
    /// el mes que viene, next month: 18:00 on the last day of next month.
    NextMonth,
    /// fin de año, year-end: 31 December 18:00.
    EndOfYear,
}

/// What a stretch of text contributes, before clauses are considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A word of immediacy that is urgent by itself: ASAP, urgente, lo antes posible.
    Urgent,
    /// "now", "ahora", "ya": immediate only where the clause asks for something.
    Now,
    /// An explicit absence of deadline: sin prisa, no rush.
    NoDeadline,
    /// Elapsed time from now, in seconds.
    Elapsed(i64),
    /// Calendar (or business) days from now.
    Days {
        /// How many.
        days: u32,
        /// Monday–Friday only.
        business: bool,
    },
    /// A day.
    Day(DayRef),
    /// A clock time.
    Clock(Clock),
    /// A part of the day.
    Part(Part),
    /// A period with a fixed deadline.
    Period(Period),
    /// An explicit time zone.
    Zone(Zone),
    /// antes de, before.
    Before,
    /// para, by, hasta, due: marks what follows as the limit.
    By,
    /// después de, after, a partir de, from: what follows is a start, not a limit.
    After,
    /// A demand pointing at an event said elsewhere: "tenlo antes", "before that".
    Anaphor,
    /// The day named last: "ese día", "that day".
    ThatDay,
    /// A stretch of time, not a point: "de 10 a 20h", "Mon–Fri", "3-5 days".
    Range,
    /// Something that recurs: "every Friday", "los lunes", "usually".
    Recurring,
    /// A number that only looks like a time or a date: an id, a version, a fraction, code.
    Number,
    /// A time that is past by itself: ayer, yesterday, el viernes pasado, hace dos semanas.
    PastTime,
    /// A time with no instant: a month or a season alone ("en marzo", "by the autumn"), a
    /// year ("in 2019"), a quarter ("Q3").
    Vague,
    /// A timestamp: a time to the second ("10:23:11"), an ISO date-time.
    Timestamp,
    /// A verb form, analysed.
    Verb(Verb),
    /// A subject pronoun: yo, we, you.
    Subject(Person),
    /// A word that says what kind of clause this is.
    Cue(Cue),
    /// A joining word that may sit inside a time expression (de, the, at).
    Glue,
    /// A clause boundary: punctuation or a line end. Strong ones end a sentence.
    Break {
        /// Ends a sentence (. ! ? or a line end), not just a clause (, ; :).
        strong: bool,
    },
    /// Anything else: ends the time expression being read.
    Gap,
}

/// What a word says about its clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    /// A request is made: please, por favor, porfa, kindly.
    Please,
    /// A need or a wish of the sender's: necesito, hace falta, need, I'd like, it is critical that.
    Need,
    /// An obligation on the work: tiene que, hay que, must, has to, should be.
    Must,
    /// A question asking the recipient to act: can you, could you, ¿puedes, ¿podrías.
    Ask,
    /// A word naming a deadline: plazo, fecha límite, deadline, due.
    Deadline,
    /// A happening: reunión, meeting, launch, fair, appointment.
    Event,
    /// Opening hours and timetables: horario, office hours, abierto, open.
    Schedule,
    /// The sender's own plan or promise: te mando, I'll send, I plan to.
    Plan,
    /// The demand is withdrawn: ya no hace falta, won't need, cancelled.
    Negation,
    /// A plain negator: no, not, never.
    Not,
    /// The clause is about the past: ayer, yesterday, last night, thanks for.
    Past,
    /// The clause is about the future by an auxiliary: will, 'll, going to, voy a.
    Future,
    /// A hypothetical mood: would, 'd.
    Would,
    /// Opens a condition: si, if, in case, unless.
    If,
    /// Opens a clause of reason, purpose or result: porque, because, so, para que.
    Because,
    /// Opens a relative or complement clause: que, which, who, that.
    Relative,
    /// Joins two predicates: y, and, but, pero.
    And,
    /// A word that makes the clause a report of someone else's statement: said, dijo.
    Said,
    /// An idiom that looks like a time but is not one: at a glance, de una vez, hoy en día.
    Idiom,
    /// A hedge that makes a plan uncertain: perhaps, maybe, quizás.
    Perhaps,
    /// A label of a line that holds a timestamp: Date:, Fecha:, Posted, Updated.
    Stamp,
}

/// Who a verb's subject is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    /// yo, I.
    I,
    /// tú, vos, you (one).
    You,
    /// él, ella, usted, it, a noun.
    It,
    /// nosotros, we.
    We,
    /// vosotros, ustedes, you (several).
    YouAll,
    /// ellos, they.
    They,
}

/// The tense or form of a verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tense {
    /// Present (also the English base form after a subject).
    Present,
    /// Any past: preterite, imperfect, -ed.
    Past,
    /// Future: mandaré, will send.
    Future,
    /// Conditional: mandaría, would send.
    Conditional,
    /// Present subjunctive: mande, mandes (the usted imperative too).
    Subjunctive,
    /// An imperative form that cannot be anything else: mándame, sube (clause-initial), haz.
    Imperative,
    /// Infinitive: mandar, to send.
    Infinitive,
    /// Gerund: mandando, sending.
    Gerund,
    /// Past participle: mandado, sent (after "have"/"haber": a perfect, so the past).
    Participle,
    /// The English base form, which is imperative at the start of a clause: send, fix.
    Base,
}

/// What a verb's lemma says about its predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerbKind {
    /// Doing the work: send, fix, publish, mandar, subir, revisar (the default).
    Act,
    /// need, require, necesitar, requerir.
    Need,
    /// Asking someone for something: ask, request, pedir, rogar, encargar.
    Ask,
    /// want, like, prefer, querer, gustar, preferir, suggest.
    Want,
    /// must, deber.
    Must,
    /// can, could, poder.
    Can,
    /// have, tener.
    Have,
    /// be, ser, estar.
    Be,
    /// go, ir.
    Go,
    /// Receiving the work: get, receive, recibir, obtener.
    Get,
    /// Happenings: start, open, close, launch, arrive, empezar, abrir, salir, llegar.
    Happen,
    /// Meeting people: meet, join, attend, quedar, reunirse, asistir.
    Meet,
    /// Intending: plan, intend, hope, aim, pensar, planear.
    Intend,
    /// Reporting: say, announce, report, decir, anunciar.
    Say,
    /// Thanking, enjoying, seeing, knowing: thank, enjoy, see, agradecer, ver.
    Feel,
    /// Withdrawing: cancel, postpone, forget, cancelar, anular, posponer, aplazar.
    Cancel,
    /// The auxiliary of the perfect: haber ("he mandado" is a past).
    Perfect,
    /// The future auxiliary: will, shall, 'll.
    Will,
    /// The conditional auxiliary: would, 'd.
    Would,
    /// The supporting auxiliary: do, does, did.
    Do,
}

/// A verb form, analysed: its lemma's kind, and what the ending says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verb {
    /// What the lemma means to a predicate.
    pub kind: VerbKind,
    /// The tense or form.
    pub tense: Tense,
    /// The subject's person, when the ending says it.
    pub person: Option<Person>,
    /// A clitic attached or just before it names the speaker or the recipient: "mándame",
    /// "te mando", "me lo pasas" (`I` = to me, `You` = to you).
    pub to: Option<Person>,
}

/// A unit of duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Minutes (elapsed).
    Minute,
    /// Hours (elapsed).
    Hour,
    /// Days (calendar).
    Day,
    /// Weeks (7 calendar days).
    Week,
    /// Months (no fixed length: a vague time).
    Month,
}

/// What a lexicon phrase means to the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lex {
    /// The phrase is a piece on its own.
    Piece(Piece),
    /// A number written as words: "dos", "forty-eight".
    Num(u32),
    /// The indefinite article as a number ("a day", "una semana"): never an hour.
    One,
    /// A month, 1–12 (only read next to a day number).
    Month(u32),
    /// A weekday.
    Weekday(Weekday),
    /// A unit of duration.
    Unit(Unit),
    /// Business days: hábiles, laborables, business, working.
    Business,
    /// Introduces a duration: en, dentro de, in, within.
    DurPrep,
    /// Introduces a clock time: "a las", "at" (strong), "las" (weak: needs a clear time after).
    ClockPrep {
        /// Whether a bare number after it is surely an hour.
        strong: bool,
    },
    /// am / pm.
    Meridiem(Meridiem),
    /// Hours in 24-hour style after a number: h, hs, hrs.
    HourSuffix,
    /// o'clock.
    OClock,
    /// próximo, que viene, next, this coming.
    Next,
    /// este, this.
    This,
    /// last, el pasado (before a weekday): the past.
    Last,
    /// pasado, pasada (after a weekday): the past.
    PastAfter,
    /// Makes a following or preceding duration not a deadline: hace, ago, for, durante.
    NotAhead,
    /// st, nd, rd, th.
    Ordinal,
    /// día (in "el día 10").
    DayNoun,
    /// de, of: between a day and a month.
    Of,
    /// Joins the two ends of a range of days: through, to.
    Through,
    /// y, and: joins words, and minutes to an hour ("las 5 y 10").
    And,
    /// An article that makes a lone number after it a day of the month ("para el 15").
    Article,
    /// A currency word: euros, dollars.
    Currency,
    /// A word announcing an identifier: teléfono, invoice, order, version.
    NumberNoun,
    /// Minutes added after the hour: "y media" (+30), "y cuarto" (+15), "menos cuarto" (−15).
    Suffix(i32),
    /// Minutes added before the hour: "half past" (+30), "quarter to" (−15).
    Prefix(i32),
    /// A farewell that names a day ("¡hasta mañana!"): no limit when it stands alone.
    Farewell,
}

/// Which number comes first in a numeric date when both could be a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateOrder {
    /// 5/3 is 5 March.
    DayMonth,
    /// 3/5 is March 5.
    MonthDay,
}

impl fmt::Display for DayRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DayRef::Today => f.write_str("today"),
            DayRef::Tomorrow => f.write_str("tomorrow"),
            DayRef::AfterTomorrow => f.write_str("the day after tomorrow"),
            DayRef::Weekday(d, WeekdayMode::Next) => write!(f, "{d} (next one)"),
            DayRef::Weekday(d, WeekdayMode::This) => write!(f, "{d} (this week's, today counts)"),
            DayRef::Weekday(d, WeekdayMode::NextWeek) => write!(f, "{d} of next week"),
            DayRef::Date { day, month, year } => {
                write!(f, "day {day}")?;
                match month {
                    Some(m) => write!(f, " of month {m}")?,
                    None => f.write_str(" of the next month that has it")?,
                }
                match year {
                    Some(y) => write!(f, " {y}"),
                    None => f.write_str(" (next occurrence)"),
                }
            }
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::FirstThing => "first thing (09:00)",
            Part::Morning => "morning (until 12:00)",
            Part::Noon => "noon (12:00)",
            Part::Afternoon => "afternoon (until 18:00)",
            Part::EndOfDay => "end of the day (18:00)",
            Part::Night => "night (until 23:59:59)",
            Part::SmallHours => "small hours",
            Part::Midnight => "midnight (23:59:59)",
        })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Period::ThisWeek => "end of this week (Friday 18:00)",
            Period::NextWeek => "next week (Friday 18:00)",
            Period::Weekend => "by the weekend (Friday 18:00)",
            Period::OverWeekend => "over the weekend (Sunday 23:59:59)",
            Period::EndOfMonth => "end of the month (last day 18:00)",
            Period::NextMonth => "next month (its last day 18:00)",
            Period::EndOfYear => "end of the year (31 December 18:00)",
        })
    }
}

/// Shorthands the language packs' lexicon tables are written with.
pub mod lex {
    use chrono_tz::Tz;

    use super::{Cue, DayRef, Lex, Part, Period, Person, Piece, Tense, Verb, VerbKind};
    use crate::zone::Zone;

    pub const NOW: Lex = Lex::Piece(Piece::Now);
    pub const URGENT: Lex = Lex::Piece(Piece::Urgent);
    pub const NO_DEADLINE: Lex = Lex::Piece(Piece::NoDeadline);
    pub const BEFORE: Lex = Lex::Piece(Piece::Before);
    pub const BY: Lex = Lex::Piece(Piece::By);
    pub const AFTER: Lex = Lex::Piece(Piece::After);
    pub const ANAPHOR: Lex = Lex::Piece(Piece::Anaphor);
    pub const GLUE: Lex = Lex::Piece(Piece::Glue);
    pub const RECURRING: Lex = Lex::Piece(Piece::Recurring);
    pub const PAST: Lex = Lex::Piece(Piece::PastTime);
    pub const VAGUE: Lex = Lex::Piece(Piece::Vague);
    pub const NOTHING: Lex = Lex::Piece(Piece::Gap);
    pub const fn cue(c: Cue) -> Lex {
        Lex::Piece(Piece::Cue(c))
    }
    pub const fn part(p: Part) -> Lex {
        Lex::Piece(Piece::Part(p))
    }
    pub const fn period(p: Period) -> Lex {
        Lex::Piece(Piece::Period(p))
    }
    pub const fn day(d: DayRef) -> Lex {
        Lex::Piece(Piece::Day(d))
    }
    pub const fn zone(tz: Tz) -> Lex {
        Lex::Piece(Piece::Zone(Zone::Named(tz)))
    }
    pub const fn minutes(m: i64) -> Lex {
        Lex::Piece(Piece::Elapsed(m * 60))
    }
    pub const fn verb(kind: VerbKind, tense: Tense, person: Option<Person>) -> Lex {
        Lex::Piece(Piece::Verb(Verb {
            kind,
            tense,
            person,
            to: None,
        }))
    }
}
