//! The place name of a time zone, localized: the city a reply names when it gives a time, as in
//! "hora de Madrid" or "Madrid time".
//!
//! The names are CLDR's exemplar cities (`exemplarCity`), taken from ICU4X's compiled data
//! (`icu_datetime`'s `zone::ExemplarCity` format), so "Europe/London" reads "Londres" in Spanish
//! and "America/New_York" reads "New York" in English without a table of our own. The zone's
//! generic-location format is not used on purpose: for a country's main zone it names the country
//! ("hora de España"), and the replies want the city.

use std::cell::OnceCell;

use chrono_tz::Tz;
use icu_datetime::NoCalendarFormatter;
use icu_datetime::fieldsets::zone::ExemplarCity;
use icu_datetime::input::TimeZone;
use icu_locale_core::{Locale, locale};

/// The exemplar-city names of one locale.
struct Cities {
    formatter: NoCalendarFormatter<ExemplarCity>,
    /// What ICU writes for a zone it has no city for ("Unknown Location", "Ciudad desconocida").
    unknown: String,
}

impl Cities {
    fn load(locale: Locale) -> Option<Self> {
        let formatter = NoCalendarFormatter::try_new(locale.into(), ExemplarCity).ok()?;
        let unknown = formatter
            .format(&TimeZone::UNKNOWN.without_offset())
            .to_string();
        Some(Self { formatter, unknown })
    }

    /// The city of `iana_id`, or `None` when ICU does not know the zone or has no city for it.
    fn city(&self, iana_id: &str) -> Option<String> {
        let zone = TimeZone::from_iana_id(iana_id);
        if zone.is_unknown() {
            return None;
        }
        let name = self.formatter.format(&zone.without_offset()).to_string();
        (!name.is_empty() && name != self.unknown).then_some(name)
    }
}

thread_local! {
    // ICU4X's data payloads need not be `Sync`, so each thread loads its own (cheap: the data is
    // compiled in, this only looks it up).
    static SPANISH: OnceCell<Option<Cities>> = const { OnceCell::new() };
    static ENGLISH: OnceCell<Option<Cities>> = const { OnceCell::new() };
}

/// The localized name of the place of `tz`, for "hora de {city}" / "{city} time".
///
/// `lang` is a language code: "es" gives Spanish (`Europe/London` → "Londres"), anything else
/// English (`Europe/London` → "London"). Where ICU has no city for the zone (`Etc/UTC`, a zone
/// newer than its data), the last segment of the zone's id is used, with `_` read as a space.
pub fn zone_city(lang: &str, tz: Tz) -> String {
    let id = tz.name();
    let lookup = |cell: &OnceCell<Option<Cities>>, locale: Locale| {
        cell.get_or_init(|| Cities::load(locale))
            .as_ref()
            .and_then(|cities| cities.city(id))
    };
    let city = if lang.eq_ignore_ascii_case("es") {
        SPANISH.with(|cell| lookup(cell, locale!("es")))
    } else {
        ENGLISH.with(|cell| lookup(cell, locale!("en")))
    };
    city.unwrap_or_else(|| last_segment(id))
}

/// `America/Argentina/Buenos_Aires` → `Buenos Aires`.
fn last_segment(id: &str) -> String {
    id.rsplit('/').next().unwrap_or(id).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use chrono_tz::{America, Atlantic, Etc, Europe};

    use super::*;

    #[test]
    fn spanish_cities() {
        for (tz, city) in [
            (Europe::Madrid, "Madrid"),
            (Atlantic::Canary, "Canarias"),
            (Europe::London, "Londres"),
            (America::Mexico_City, "Ciudad de México"),
            (America::New_York, "Nueva York"),
            (America::Argentina::Buenos_Aires, "Buenos Aires"),
            (America::Bogota, "Bogotá"),
            (Europe::Lisbon, "Lisboa"),
        ] {
            assert_eq!(zone_city("es", tz), city, "{}", tz.name());
        }
    }

    #[test]
    fn english_cities() {
        for (tz, city) in [
            (Europe::Madrid, "Madrid"),
            // CLDR's English exemplar city for Atlantic/Canary is "Canaries" (the data ICU4X
            // 2.4 ships), not the IANA id's "Canary".
            (Atlantic::Canary, "Canaries"),
            (America::New_York, "New York"),
            (America::Mexico_City, "Mexico City"),
        ] {
            assert_eq!(zone_city("en", tz), city, "{}", tz.name());
        }
    }

    #[test]
    fn other_languages_are_english() {
        assert_eq!(zone_city("de", Europe::London), "London");
        assert_eq!(zone_city("ES", Europe::London), "Londres");
    }

    #[test]
    fn aliases_resolve() {
        assert_eq!(zone_city("es", America::Buenos_Aires), "Buenos Aires");
        assert_eq!(zone_city("en", Europe::Kiev), "Kyiv");
    }

    #[test]
    fn no_city_falls_back_to_the_id() {
        assert_eq!(zone_city("es", Etc::UTC), "UTC");
        assert_eq!(zone_city("en", Etc::GMTPlus3), "GMT+3");
        assert_eq!(
            last_segment("America/Argentina/Buenos_Aires"),
            "Buenos Aires"
        );
        assert_eq!(last_segment("UTC"), "UTC");
    }
}
