//! The history view: rows, the filter, connections per day for the chart, and the CSV export.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One connection through a forwarder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryRow {
    /// Unix milliseconds.
    #[ts(type = "number")]
    pub started_at_ms: i64,
    #[ts(type = "number | null")]
    pub ended_at_ms: Option<i64>,
    pub database: String,
    pub role: String,
    pub identity: Option<String>,
    /// The client's `application_name`.
    pub application: Option<String>,
    /// `None` while the connection is open.
    #[ts(type = "number | null")]
    pub duration_ms: Option<i64>,
    #[ts(type = "number")]
    pub bytes_up: u64,
    #[ts(type = "number")]
    pub bytes_down: u64,
    /// `open`, `ok`, `refused`, `tls error`, …
    pub outcome: String,
    pub error: Option<String>,
}

/// What the history view asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryFilter {
    /// Matches database, role, person, application, outcome or error (case-insensitive).
    pub text: Option<String>,
    /// Only this database.
    pub database: Option<String>,
    /// Most rows (newest first); default 500.
    pub limit: Option<u32>,
    /// The UI's offset from UTC in minutes (`-new Date().getTimezoneOffset()`), so days in the
    /// chart are the person's days.
    pub utc_offset_minutes: Option<i32>,
}

/// Connections started on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DayCount {
    /// `2026-11-27`, in the person's time zone.
    pub day: String,
    pub connections: u32,
    /// Of which were refused or failed.
    pub failed: u32,
}

/// The rows and the chart, from one read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HistoryPage {
    pub rows: Vec<HistoryRow>,
    /// The last 14 days, oldest first, days without connections included.
    pub per_day: Vec<DayCount>,
}

/// Days shown in the chart.
pub const CHART_DAYS: usize = 14;

impl HistoryRow {
    /// Whether the row matches the filter's text.
    pub fn matches(&self, text: &str) -> bool {
        let needle = text.trim().to_lowercase();
        if needle.is_empty() {
            return true;
        }
        [
            Some(self.database.as_str()),
            Some(self.role.as_str()),
            self.identity.as_deref(),
            self.application.as_deref(),
            Some(self.outcome.as_str()),
            self.error.as_deref(),
        ]
        .into_iter()
        .flatten()
        .any(|field| field.to_lowercase().contains(&needle))
    }

    /// Whether the connection failed (refused, TLS error, sign-in failed…) rather than ran.
    pub fn failed(&self) -> bool {
        !matches!(self.outcome.as_str(), "ok" | "open")
    }
}

/// Connections per day for the last [`CHART_DAYS`] days up to `now_ms`, oldest first.
/// One page of the History screen from every row read (newest first): the rows matching the
/// filter's text, at most its limit (default 500), and the per-day chart over all matching rows.
pub fn page(rows: Vec<HistoryRow>, filter: &HistoryFilter, now_ms: i64) -> HistoryPage {
    let text = filter.text.clone().unwrap_or_default();
    let matching: Vec<HistoryRow> = rows.into_iter().filter(|r| r.matches(&text)).collect();
    let per_day = per_day(&matching, now_ms, filter.utc_offset_minutes.unwrap_or(0));
    let limit = filter.limit.unwrap_or(500) as usize;
    HistoryPage { rows: matching.into_iter().take(limit).collect(), per_day }
}

pub fn per_day(rows: &[HistoryRow], now_ms: i64, utc_offset_minutes: i32) -> Vec<DayCount> {
    let offset_ms = i64::from(utc_offset_minutes) * 60_000;
    let today = (now_ms + offset_ms).div_euclid(86_400_000);
    let first = today - (CHART_DAYS as i64 - 1);
    let mut days: Vec<DayCount> =
        (first..=today).map(|day| DayCount { day: civil_date(day), connections: 0, failed: 0 }).collect();
    for row in rows {
        let day = (row.started_at_ms + offset_ms).div_euclid(86_400_000);
        if let Some(slot) = usize::try_from(day - first).ok().and_then(|i| days.get_mut(i)) {
            slot.connections += 1;
            if row.failed() {
                slot.failed += 1;
            }
        }
    }
    days
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01.
fn civil_date(days_since_epoch: i64) -> String {
    iso_utc(days_since_epoch * 86_400_000)[..10].to_string()
}

/// The rows as CSV (RFC 4180, CRLF line ends, through the csv crate), a header first; times in
/// UTC ISO 8601. Cells a spreadsheet would evaluate as a formula are defused.
pub fn to_csv(rows: &[HistoryRow]) -> String {
    let mut out = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let header = [
        "started_at",
        "ended_at",
        "database",
        "role",
        "person",
        "application",
        "duration_ms",
        "bytes_up",
        "bytes_down",
        "outcome",
        "error",
    ];
    // Writing to a Vec cannot fail.
    let _ = out.write_record(header);
    for row in rows {
        let fields = [
            iso_utc(row.started_at_ms),
            row.ended_at_ms.map(iso_utc).unwrap_or_default(),
            row.database.clone(),
            row.role.clone(),
            row.identity.clone().unwrap_or_default(),
            row.application.clone().unwrap_or_default(),
            row.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            row.bytes_up.to_string(),
            row.bytes_down.to_string(),
            row.outcome.clone(),
            row.error.clone().unwrap_or_default(),
        ];
        let _ = out.write_record(fields.iter().map(|f| defuse_formula(f)));
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A leading = + - @ would make a spreadsheet evaluate the cell (CSV injection): prefixed with
/// an apostrophe, unless the cell is a plain number.
fn defuse_formula(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@']) && value.parse::<f64>().is_err() {
        format!("'{value}")
    } else {
        value.to_string()
    }
}

/// `tapgate-history-2026-11-27T120000Z.csv`: sortable, and no characters file systems refuse.
pub fn export_file_name(now_ms: i64) -> String {
    format!("tapgate-history-{}.csv", iso_utc(now_ms).replace(':', ""))
}

/// `2026-11-27T12:00:00Z` (humantime's RFC 3339, as the CLI prints times); times before 1970
/// (a broken clock) read as 1970.
fn iso_utc(ms: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_filters_limits_and_charts_the_matching_rows_only() {
        let now = 1_764_000_000_000;
        let mut failed = row(now - 1_000, "tls error");
        failed.database = "staging".into();
        let rows = vec![row(now, "ok"), failed, row(now - 2_000, "ok")];
        let filter = HistoryFilter { text: Some("OK".into()), limit: Some(1), ..HistoryFilter::default() };
        let page = page(rows, &filter, now);
        assert_eq!(page.rows.len(), 1, "the limit");
        assert_eq!(page.rows[0].started_at_ms, now, "newest first");
        let today = page.per_day.last().expect("today");
        assert_eq!(
            (today.connections, today.failed),
            (2, 0),
            "the chart counts both ok rows, not the tls error"
        );
    }

    fn row(started_at_ms: i64, outcome: &str) -> HistoryRow {
        HistoryRow {
            started_at_ms,
            ended_at_ms: Some(started_at_ms + 1500),
            database: "prod".into(),
            role: "app_rw".into(),
            identity: Some("alice@example.com".into()),
            application: Some("psql".into()),
            duration_ms: Some(1500),
            bytes_up: 10,
            bytes_down: 20,
            outcome: outcome.into(),
            error: None,
        }
    }

    // 2026-11-27T12:00:00Z
    const NOON: i64 = 1_795_780_800_000;

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(NOON / 86_400_000), "2026-11-27");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }

    #[test]
    fn per_day_counts_fourteen_days_in_the_persons_time_zone() {
        let rows = [row(NOON, "ok"), row(NOON - 1000, "refused"), row(NOON - 86_400_000, "ok")];
        let days = per_day(&rows, NOON, 0);
        assert_eq!(days.len(), CHART_DAYS);
        assert_eq!(days[13], DayCount { day: "2026-11-27".into(), connections: 2, failed: 1 });
        assert_eq!(days[12].connections, 1);
        assert_eq!(days[0].day, "2026-11-14");
        // 13 hours east of UTC, noon UTC is already the next day.
        let east = per_day(&rows, NOON, 13 * 60);
        assert_eq!(east[13].day, "2026-11-28");
        assert_eq!(east[13].connections, 2);
    }

    #[test]
    fn csv_quotes_commas_and_defuses_formulas() {
        let mut r = row(NOON, "refused");
        r.error = Some("role \"x\", not allowed".into());
        r.application = Some("=HYPERLINK(\"evil\")".into());
        let csv = to_csv(&[r]);
        let mut lines = csv.split("\r\n");
        assert!(lines.next().is_some_and(|h| h.starts_with("started_at,ended_at,database")));
        let line = lines.next().unwrap_or_default();
        assert!(line.starts_with("2026-11-27T12:00:00Z,2026-11-27T12:00:01Z,prod,app_rw,alice@example.com,"));
        assert!(line.contains("\"'=HYPERLINK(\"\"evil\"\")\""), "{line}");
        assert!(line.ends_with("\"role \"\"x\"\", not allowed\""), "{line}");
    }

    #[test]
    fn text_filter_looks_at_every_column_a_person_sees() {
        let r = row(NOON, "ok");
        assert!(r.matches("ALICE"));
        assert!(r.matches("psql"));
        assert!(r.matches(""));
        assert!(!r.matches("bob"));
    }
}
