//! Waiting and logging around failures: capped exponential backoff with jitter, the wait
//! before a reply's next attempt, and one log line per repeating error and period.

use super::*;

/// Capped exponential backoff with jitter.
#[derive(Debug)]
pub(super) struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(super) fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The wait before the next attempt: the current step ±25 %, then the step doubles.
    pub(super) fn next(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        jitter(base)
    }

    pub(super) fn reset(&mut self) {
        self.next = self.first;
    }
}

/// How often the same error is logged again while it repeats.
const REPEAT_PERIOD: chrono::Duration = chrono::Duration::minutes(5);

/// Logs an error that repeats once per [`REPEAT_PERIOD`], with how often it happened meanwhile,
/// instead of once per attempt.
#[derive(Debug, Default)]
pub(super) struct Repeated {
    last: Option<(String, DateTime<Utc>)>,
    silenced: u64,
}

impl Repeated {
    /// Whether to log `message` now: `Some` with a note of the repeats left out, or `None`.
    pub(super) fn note(&mut self, message: &str, now: DateTime<Utc>) -> Option<String> {
        match &self.last {
            Some((last, at)) if last == message && now - *at < REPEAT_PERIOD => {
                self.silenced += 1;
                None
            }
            _ => {
                let note = match self.silenced {
                    0 => String::new(),
                    n => format!(" (and {n} more times since the last report)"),
                };
                self.last = Some((message.to_string(), now));
                self.silenced = 0;
                Some(note)
            }
        }
    }
}

pub(super) fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.75 + fastrand::f64() * 0.5)
}

/// The wait before attempt `attempts + 1` of one reply.
pub(super) fn retry_wait(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    jitter(RETRY_FIRST.saturating_mul(1 << exp).min(RETRY_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_error_is_logged_once_per_period_with_a_count() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        let mut r = Repeated::default();
        assert_eq!(r.note("disk full", at(0)).as_deref(), Some(""));
        for s in 1..100 {
            assert_eq!(r.note("disk full", at(s)), None);
        }
        let again = r.note("disk full", at(301)).expect("after the period");
        assert!(again.contains("99 more times"), "{again}");
        // Another error is logged at once.
        assert_eq!(r.note("login refused", at(302)).as_deref(), Some(""));
    }
}
