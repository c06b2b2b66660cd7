//! Policy (design §4): given when a mail arrived and what it demands, which triggers fire.
//!
//! `outside-hours` fires when the arrival instant is not inside working time; `short-notice` when
//! the client's deadline is before the earliest feasible delivery; `away` when it arrives on a day
//! of an `[[away]]` period that is answered (it takes the place of `outside-hours` then). The
//! instants computed on the way (next opening, earliest, earliest with rush) are kept in the
//! [`Assessment`] because the reply quotes them.
//!
//! The rush option is kept only when it is true and asked for: the client demands a time the
//! normal notice cannot meet, and the rush is strictly earlier than the normal delivery.

use chrono::{DateTime, Utc};

use crate::calendar::Holiday;
use crate::config::{Client, Config};
use crate::extract::Deadline;

pub use crate::words::Trigger;

/// What business time says about one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// When the mail arrived.
    pub received: DateTime<Utc>,
    /// The deadline the client demanded, if any.
    pub deadline: Option<Deadline>,
    /// True when it arrived outside working time.
    pub outside_hours: bool,
    /// The next working moment at or after arrival.
    pub next_opening: Option<DateTime<Utc>>,
    /// The earliest feasible delivery with the normal notice.
    pub earliest: Option<DateTime<Utc>>,
    /// The earliest feasible delivery with the rush notice, when one is offered.
    pub rush_earliest: Option<DateTime<Utc>>,
    /// The triggers that fired and are enabled in the config, in a stable order.
    pub triggers: Vec<Trigger>,
    /// The holiday run the arrival falls on, if any.
    pub holiday: Option<Holiday>,
    /// The `[[away]]` period the arrival falls on (its index in `Config::away`), if any.
    pub away: Option<usize>,
}

/// Assesses a request that arrived at `received` demanding `deadline`.
pub fn assess(
    config: &Config,
    client: Option<&Client>,
    received: DateTime<Utc>,
    deadline: Option<Deadline>,
) -> Assessment {
    let schedule = &config.schedule;
    let notice = config.notice_for(client);
    let outside_hours = !schedule.is_working(received);
    let next_opening = schedule.next_opening(received);
    let earliest = schedule.earliest(received, notice.minimum, notice.counts);
    let short_notice = match (&deadline, earliest) {
        (Some(d), Some(e)) => d.at.to_utc() < e,
        _ => false,
    };
    let rush_earliest = notice
        .rush_minimum
        .filter(|_| short_notice)
        .and_then(|rush| schedule.earliest(received, rush, notice.counts))
        .filter(|rush| earliest.is_none_or(|e| *rush < e));
    let day = received.with_timezone(&schedule.tz).date_naive();
    let holiday = schedule.holiday_on(day);
    let away = config.away_on(day);
    let away_index = away.and_then(|p| config.away.iter().position(|q| q == p));
    let answered_away = away.is_some_and(|p| p.answer);
    let triggers = if away.is_some_and(|p| !p.answer) {
        Vec::new()
    } else {
        [
            (Trigger::OutsideHours, outside_hours && !answered_away),
            (Trigger::ShortNotice, short_notice),
        ]
        .into_iter()
        .filter(|(t, fired)| *fired && config.reply.triggers.contains(t))
        .map(|(t, _)| t)
        .chain(answered_away.then_some(Trigger::Away))
        .collect()
    };
    Assessment {
        received,
        deadline,
        outside_hours,
        next_opening,
        earliest,
        rush_earliest,
        triggers,
        holiday,
        away: away_index,
    }
}
