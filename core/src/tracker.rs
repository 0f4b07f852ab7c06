//! The tracker state machine: page views and custom events in, commands out.

use alloc::string::String;
use alloc::vec::Vec;

use uuid::Uuid;

use crate::event::{validate_props, Event, Props};
use crate::session::{SessionRule, SessionState, VisitorState};
use crate::time::Millis;
use crate::validate::{self, Invalid};

/// Random ids for the core. The browser driver draws them from `crypto.getRandomValues`;
/// tests use a counter.
pub trait Entropy {
    fn random_bytes(&mut self) -> [u8; 16];

    fn uuid_v4(&mut self) -> Uuid {
        uuid::Builder::from_random_bytes(self.random_bytes()).into_uuid()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerConfig {
    pub site: String,
    pub session: SessionRule,
    /// The most events one `Send` command carries.
    pub max_batch_events: usize,
}

impl TrackerConfig {
    pub fn new(site: &str) -> Result<TrackerConfig, Invalid> {
        validate::site(site)?;
        Ok(TrackerConfig {
            site: site.into(),
            session: SessionRule::default(),
            max_batch_events: 20,
        })
    }
}

/// The page as the driver sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    pub url: String,
    pub referrer: Option<String>,
}

/// What the driver should persist so the next page load continues the same visitor and session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub visitor: String,
    pub session: String,
}

pub struct Tracker<E: Entropy> {
    config: TrackerConfig,
    entropy: E,
    visitor: Option<VisitorState>,
    session: Option<SessionState>,
    page: Option<(Uuid, Page)>,
    /// Events encoded as JSON objects, oldest first: ready to send or to persist.
    outbox: Vec<String>,
    dirty: bool,
}

impl<E: Entropy> Tracker<E> {
    /// Starts from whatever the driver found in storage; unreadable snapshots are ignored.
    pub fn new(config: TrackerConfig, stored: Option<&Snapshot>, entropy: E) -> Self {
        Tracker {
            visitor: stored.and_then(|s| VisitorState::decode(&s.visitor)),
            session: stored.and_then(|s| SessionState::decode(&s.session)),
            config,
            entropy,
            page: None,
            outbox: Vec::new(),
            dirty: false,
        }
    }

    pub fn visitor(&self) -> Option<&VisitorState> {
        self.visitor.as_ref()
    }

    pub fn session(&self) -> Option<&SessionState> {
        self.session.as_ref()
    }

    /// Records activity at `now`, starting a new session (and counting a visit) when the
    /// current one has ended. Returns the ids events at `now` belong to.
    fn touch(&mut self, now: Millis) -> (Uuid, Uuid, bool) {
        let rule = self.config.session;
        let mut visitor = match self.visitor.take() {
            Some(v) => v,
            None => VisitorState {
                id: self.entropy.uuid_v4(),
                first_seen: now,
                visit_count: 0,
            },
        };
        let mut session = match self.session.take() {
            Some(s) if rule.is_live(&s, now) => s,
            _ => {
                visitor.visit_count = visitor.visit_count.saturating_add(1);
                SessionState {
                    id: self.entropy.uuid_v4(),
                    started: now,
                    last_activity: now,
                    pageviews: 0,
                }
            }
        };
        session.last_activity = session.last_activity.max(now);
        let ids = (visitor.id, session.id, visitor.visit_count > 1);
        self.visitor = Some(visitor);
        self.session = Some(session);
        self.dirty = true;
        ids
    }

    /// A page view: the initial load or a client-side navigation.
    pub fn on_page_view(&mut self, now: Millis, page: Page) -> Result<(), Invalid> {
        validate::url("url", &page.url)?;
        let mut page = page;
        // An over-long referrer is dropped rather than costing the page view.
        page.referrer = page.referrer.filter(|r| r.len() <= validate::MAX_URL_LEN);
        let pageview_id = self.entropy.uuid_v4();
        self.page = Some((pageview_id, page));
        self.push_event(now, "page_view", Props::new())?;
        if let Some(s) = self.session.as_mut() {
            s.pageviews = s.pageviews.saturating_add(1);
        }
        Ok(())
    }

    /// A custom event from `rapport.track(name, props)`.
    pub fn on_track(&mut self, now: Millis, name: &str, props: Props) -> Result<(), Invalid> {
        validate::event_name(name)?;
        validate_props(&props)?;
        if self.page.is_none() {
            return Err(Invalid::new("track", "called before the first page view"));
        }
        self.push_event(now, name, props)
    }

    fn push_event(&mut self, now: Millis, name: &str, props: Props) -> Result<(), Invalid> {
        if self.page.is_none() {
            return Err(Invalid::new("page", "no page view yet"));
        }
        let (visitor_id, session_id, returning) = self.touch(now);
        let id = self.entropy.uuid_v4();
        let Some((pageview_id, page)) = &self.page else {
            return Ok(());
        };
        let event = Event {
            id,
            name: name.into(),
            ts: now.0,
            visitor_id,
            session_id,
            pageview_id: *pageview_id,
            returning,
            referrer: if name == "page_view" {
                page.referrer.clone()
            } else {
                None
            },
            url: page.url.clone(),
            props,
        };
        // Callers validated the name, URL and props; `Event::validate` is the collector's.
        self.outbox.push(event.to_json());
        Ok(())
    }

    /// State to persist, when it changed since the last call. The driver writes it at once so
    /// other tabs and the next page load continue the same visitor and session.
    pub fn poll_snapshot(&mut self) -> Option<Snapshot> {
        if !core::mem::take(&mut self.dirty) {
            return None;
        }
        let (v, s) = (self.visitor.as_ref()?, self.session.as_ref()?);
        Some(Snapshot {
            visitor: v.encode(),
            session: s.encode(),
        })
    }

    /// The body of the next batch to send (JSON), stamped with `now` as its `sent_at`.
    pub fn poll_batch(&mut self, now: Millis) -> Option<String> {
        if self.outbox.is_empty() {
            return None;
        }
        let take = self.outbox.len().min(self.config.max_batch_events.max(1));
        let body = crate::batch::encode(
            &self.config.site,
            now.0,
            self.outbox[..take].iter().map(String::as_str),
        );
        self.outbox.drain(..take);
        Some(body)
    }
}
