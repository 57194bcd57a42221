//! UTC times as RFC 3339 text, written without the formatting machinery: log lines' times and
//! the `meta.created` / `meta.lastModified` of every SCIM resource (where `format!`-style
//! formatting cost about 3,000 instructions a time, a percent of a whole GET).

/// Log lines' times, as tracing-subscriber's default writes them (`2026-12-02T23:41:44.485623Z`,
/// UTC), with the date and time of day worked out once a second per thread rather than for
/// every line (which cost an access log line a quarter of its formatting).
pub(crate) struct LogTime;

impl tracing_subscriber::fmt::time::FormatTime for LogTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        use std::cell::Cell;
        thread_local! {
            /// The second last written, and its `YYYY-MM-DDTHH:MM:SS`.
            static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let (seconds, micros) = (now.as_secs(), now.subsec_micros());
        let (cached, mut text) = SECOND.get();
        if cached != seconds {
            write_date_time(&mut text, seconds);
            SECOND.set((seconds, text));
        }
        let mut fraction = [b'.', 0, 0, 0, 0, 0, 0, b'Z'];
        write_digits(&mut fraction[1..7], micros);
        w.write_str(ascii(&text))?;
        w.write_str(ascii(&fraction))
    }
}

/// An RFC 3339 UTC time, as prost-types writes a `Timestamp`: `2026-12-02T23:41:44Z`, with
/// `.mmm`, `.uuuuuu` or `.nnnnnnnnn` when its fraction of a second needs them.
pub struct Rfc3339 {
    text: [u8; 30],
    len: usize,
}

impl Rfc3339 {
    /// The time `seconds` and `nanos` after the Unix epoch, for years 1970 to 9999 (the four-digit
    /// years with no sign); `None` for any other, or for nanoseconds outside 0..1e9.
    pub fn new(seconds: i64, nanos: i32) -> Option<Rfc3339> {
        let seconds = u64::try_from(seconds).ok().filter(|s| *s <= LAST_SECOND)?;
        let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
        let mut text = [0; 30];
        let mut head = [0; 19];
        write_date_time(&mut head, seconds);
        text[..19].copy_from_slice(&head);
        let len = if nanos == 0 {
            text[19] = b'Z';
            20
        } else {
            let (value, digits) = if nanos % 1_000_000 == 0 {
                (nanos / 1_000_000, 3)
            } else if nanos % 1_000 == 0 {
                (nanos / 1_000, 6)
            } else {
                (nanos, 9)
            };
            text[19] = b'.';
            write_digits(&mut text[20..20 + digits], value);
            text[20 + digits] = b'Z';
            21 + digits
        };
        Some(Rfc3339 { text, len })
    }

    pub fn as_str(&self) -> &str {
        ascii(&self.text[..self.len])
    }
}

/// 9999-12-31T23:59:59Z.
const LAST_SECOND: u64 = 253_402_300_799;

/// `YYYY-MM-DDTHH:MM:SS` of `seconds` after the epoch (at most [`LAST_SECOND`]).
fn write_date_time(text: &mut [u8; 19], seconds: u64) {
    let (year, month, day) = civil_date(seconds / 86_400);
    let time = seconds % 86_400;
    *text = *b"0000-00-00T00:00:00";
    for (at, width, value) in [
        (0, 4, year),
        (5, 2, month),
        (8, 2, day),
        (11, 2, time / 3600),
        (14, 2, time / 60 % 60),
        (17, 2, time % 60),
    ] {
        write_digits(&mut text[at..at + width], value);
    }
}

/// `value`'s last `digits.len()` decimal digits, zero-padded.
fn write_digits(digits: &mut [u8], value: impl Into<u64>) {
    let mut value = value.into();
    for digit in digits.iter_mut().rev() {
        // `value % 10` is below 10: the cast cannot truncate.
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Text made only of ASCII digits and punctuation.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{Rfc3339, civil_date};

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        // 2000 was a leap year, 2100 will not be.
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_789), (2026, 12, 2));
        assert_eq!(civil_date(47_540), (2100, 2, 28));
        assert_eq!(civil_date(47_541), (2100, 3, 1));
        assert_eq!(civil_date(730_484), (3969, 12, 31));
    }

    /// The same text as prost-types' `Display`, across the range and every fraction's width.
    #[test]
    fn rfc3339_is_prost_types_display() {
        let mut seconds = 0_i64;
        while seconds <= super::LAST_SECOND as i64 {
            for nanos in [0, 1, 7_000, 120_000_000, 999_999_999, 500_000, 123_456_789] {
                let time = prost_types::Timestamp { seconds, nanos };
                let text = Rfc3339::new(seconds, nanos).map(|t| t.as_str().to_owned());
                assert_eq!(text.as_deref(), Some(time.to_string().as_str()), "{time:?}");
            }
            // About 40,000 instants, none on a round day.
            seconds += 6_334_567;
        }
        let last = super::LAST_SECOND as i64;
        assert_eq!(
            Rfc3339::new(last, 0)
                .map(|t| t.as_str().to_owned())
                .as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        for (seconds, nanos) in [(-1, 0), (last + 1, 0), (0, -1), (0, 1_000_000_000)] {
            assert!(Rfc3339::new(seconds, nanos).is_none(), "{seconds} {nanos}");
        }
    }
}
