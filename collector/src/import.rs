//! `rapport-collector import --site ID FILE.ndjson`: history moved in, one event per line.
//!
//! Each line is an event as a batch carries it (docs/wire-format.md) and is checked as
//! `/v1/batch` checks one, except for the clock rule: an event may be of any age, since it
//! comes from a file and not from a browser's clock. Nothing is corrected: its `ts` is
//! stored as it is, and so is its arrival time (`received_at`), so that the live count and
//! the newest-events lists do not take history for new traffic. A line that is not a valid
//! event is refused and reported by number; the others are stored. Events are stored
//! [`BLOCK`] to a transaction; an id the site already has is stored once, so an import
//! stopped half-way (or run twice) is finished by running it again.

use std::io::BufRead;

use rapport_core::validate::MAX_FUTURE_MS;
use rapport_core::Event;

use crate::db::{Db, NewEvent};

/// Events stored per transaction.
pub const BLOCK: usize = 10_000;
/// The longest line read as an event: an event's URL, referrer and props (8 KB) fit many
/// times over, and a line past it is refused unread.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// Refused lines listed with their reason; the others are only counted.
pub const REFUSED_LISTED: usize = 100;

/// What an import did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Lines read that are not blank.
    pub lines: u64,
    /// Events stored now.
    pub stored: u64,
    /// Valid events whose id the site had already (or an earlier line of the file had).
    pub duplicates: u64,
    /// Lines refused.
    pub refused_lines: u64,
    /// The first [`REFUSED_LISTED`] refused lines, by number from 1, with the reason: a
    /// file of bad lines costs no memory for each.
    pub refused: Vec<(u64, String)>,
}

/// Why an import stopped before the end of its input.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading line {line}: {source}")]
    Read { line: u64, source: std::io::Error },
    /// The lines before `line` are stored (a block is stored whole or not at all).
    #[error("storing the events from line {line} on: {source}")]
    Store { line: u64, source: sqlx::Error },
}

/// The event on `line`, or why it is refused.
fn check(line: &[u8], now: u64) -> Result<Event, String> {
    let mut event: Event = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    event.validate().map_err(|e| e.to_string())?;
    if event.ts > now.saturating_add(MAX_FUTURE_MS) {
        return Err("ts: is later than now".into());
    }
    // The identity proof of a feedback answer is never stored (see ingest), and history
    // earns no points.
    event.props.remove("user_hash");
    event.props.remove("user_expires");
    Ok(event)
}

/// Reads the next line into `buf` (without its end), at most [`MAX_LINE_BYTES`]; `None` at
/// the end of the input, `Some(false)` for a longer line, whose rest is skipped.
fn next_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    use std::io::Read as _;
    buf.clear();
    let limit = MAX_LINE_BYTES as u64 + 1;
    let n = input.by_ref().take(limit).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        return Ok(Some(buf.len() <= MAX_LINE_BYTES));
    }
    if buf.len() <= MAX_LINE_BYTES {
        return Ok(Some(true));
    }
    // Past the limit: skip to the end of this line.
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                break;
            }
            None => {
                let len = chunk.len();
                input.consume(len);
            }
        }
    }
    Ok(Some(false))
}

/// Stores the events of `input` (newline-delimited JSON) for `site`, which the caller has
/// checked is configured.
pub async fn import(
    db: &Db,
    site: &str,
    mut input: impl BufRead,
    now: u64,
) -> Result<Report, ImportError> {
    let mut report = Report::default();
    let mut block: Vec<Event> = Vec::with_capacity(BLOCK);
    // The line number of the block's first event.
    let mut block_line = 1;
    let mut buf = Vec::new();
    let mut number = 0;
    loop {
        let line = next_line(&mut input, &mut buf).map_err(|source| ImportError::Read {
            line: number + 1,
            source,
        })?;
        let Some(fits) = line else { break };
        number += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        report.lines += 1;
        let checked = if fits {
            check(&buf, now)
        } else {
            Err(format!("longer than {MAX_LINE_BYTES} bytes"))
        };
        match checked {
            Ok(event) => {
                if block.is_empty() {
                    block_line = number;
                }
                block.push(event);
            }
            Err(reason) => {
                report.refused_lines += 1;
                if report.refused.len() < REFUSED_LISTED {
                    report.refused.push((number, reason));
                }
            }
        }
        if block.len() == BLOCK {
            store(db, site, &mut block, block_line, &mut report).await?;
        }
    }
    store(db, site, &mut block, block_line, &mut report).await?;
    Ok(report)
}

async fn store(
    db: &Db,
    site: &str,
    block: &mut Vec<Event>,
    line: u64,
    report: &mut Report,
) -> Result<(), ImportError> {
    if block.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewEvent> = block
        .iter()
        .map(|event| NewEvent {
            event,
            ts: event.ts,
        })
        .collect();
    let stored = db
        .import_events(site, &rows)
        .await
        .map_err(|source| ImportError::Store { line, source })?;
    report.stored += stored.len() as u64;
    report.duplicates += (rows.len() - stored.len()) as u64;
    block.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_whole_without_their_end_and_long_ones_are_skipped() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let text = format!("a\r\n{long}\nb\n\nc");
        let mut input = std::io::BufReader::with_capacity(16, text.as_bytes());
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while let Some(fits) = next_line(&mut input, &mut buf).unwrap() {
            lines.push((String::from_utf8_lossy(&buf).into_owned(), fits));
        }
        let shown: Vec<(&str, bool)> = lines
            .iter()
            .map(|(l, fits)| (if *fits { l.as_str() } else { "…" }, *fits))
            .collect();
        assert_eq!(
            shown,
            [
                ("a", true),
                ("…", false),
                ("b", true),
                ("", true),
                ("c", true)
            ]
        );
    }

    #[tokio::test]
    async fn past_the_listed_ones_refused_lines_are_only_counted() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/i.db", dir.path().display()))
            .await
            .unwrap();
        let text = "not json\n".repeat(REFUSED_LISTED + 5);
        let report = import(&db, "demo", text.as_bytes(), 0).await.unwrap();
        assert_eq!(report.refused_lines, REFUSED_LISTED as u64 + 5);
        assert_eq!(report.refused.len(), REFUSED_LISTED);
        assert_eq!(report.refused[REFUSED_LISTED - 1].0, REFUSED_LISTED as u64);
        assert_eq!(
            (report.lines, report.stored),
            (REFUSED_LISTED as u64 + 5, 0)
        );
    }

    #[test]
    fn an_old_event_passes_and_a_future_one_is_refused() {
        let now = 1_800_000_000_000;
        let line = |ts: u64| {
            format!(
                r#"{{"id":"00000001-0000-4000-8000-000000000001","name":"page_view","ts":{ts},"visitor_id":"00000002-0000-4000-8000-000000000001","session_id":"00000003-0000-4000-8000-000000000001","pageview_id":"00000004-0000-4000-8000-000000000001","returning":false,"url":"https://shop.example/","props":{{"user_hash":"ab"}}}}"#
            )
        };
        let old = check(line(now - 400 * 86_400_000).as_bytes(), now).unwrap();
        assert!(old.props.get("user_hash").is_none());
        assert_eq!(
            check(line(now + 61_000).as_bytes(), now).unwrap_err(),
            "ts: is later than now"
        );
        assert!(check(b"{}", now).unwrap_err().contains("missing field"));
    }
}
