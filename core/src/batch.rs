//! A batch of events: the body of `POST /v1/batch`.

use alloc::string::String;
use alloc::vec::Vec;

use crate::event::Event;
use crate::json::Writer;

#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Batch {
    /// The site id: 1–64 characters of `a-z 0-9 _ . -`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9_.-]{1,64}$", min_length = 1, max_length = 64)
    )]
    pub site: String,
    /// Client wall-clock time when the batch was sent; the collector corrects skew with it.
    pub sent_at: u64,
    /// 1 to 1000 events.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub events: Vec<Event>,
}

impl Batch {
    pub fn to_json(&self) -> String {
        let events: Vec<String> = self.events.iter().map(Event::to_json).collect();
        encode(&self.site, self.sent_at, events.iter().map(String::as_str))
    }
}

/// A batch body from events already encoded as JSON objects (the tracker's outbox).
pub fn encode<'a>(site: &str, sent_at: u64, events: impl Iterator<Item = &'a str>) -> String {
    let mut w = Writer::new();
    w.begin_object();
    w.key("site");
    w.string(site);
    w.key("sent_at");
    w.u64(sent_at);
    w.key("events");
    w.begin_array();
    for event in events {
        w.element();
        w.raw(event);
    }
    w.end_array();
    w.end_object();
    w.finish()
}

/// The event's time on the receiver's clock: `received − (sent_at − event_ts)`, never later
/// than `received`. The client's clock may be wrong, but the gap between the event and the
/// send is measured on that one clock, so it survives the correction.
pub fn corrected_time(received: u64, sent_at: u64, event_ts: u64) -> u64 {
    let age = sent_at.saturating_sub(event_ts);
    received.saturating_sub(age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrected_time_removes_client_skew() {
        // Client clock one hour fast; event 5 s before sending.
        let received = 1_700_000_000_000;
        let skew = 3_600_000;
        let sent_at = received + skew;
        assert_eq!(
            corrected_time(received, sent_at, sent_at - 5_000),
            received - 5_000
        );
        // Client clock one hour slow.
        let sent_at = received - skew;
        assert_eq!(
            corrected_time(received, sent_at, sent_at - 5_000),
            received - 5_000
        );
    }

    #[test]
    fn corrected_time_is_clamped_to_the_receive_time() {
        // An event stamped after its own batch cannot be in the future.
        assert_eq!(corrected_time(1_000, 500, 900), 1_000);
    }
}
