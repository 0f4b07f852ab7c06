//! One tracked event as it travels on the wire.

use alloc::borrow::ToOwned;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use uuid::Uuid;

use crate::json::Writer;
use crate::validate::{self, Invalid};

/// A JSON number kept as its canonical decimal text.
///
/// The browser formats numbers (`String(n)`) and the collector parses them, so the widget
/// never needs a float formatter of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Number(String);

impl Number {
    /// Accepts text in JSON number grammar, e.g. what JavaScript's `String(n)` gives for a
    /// finite number.
    pub fn parse(text: &str) -> Result<Number, Invalid> {
        if is_json_number(text.as_bytes()) {
            Ok(Number(text.to_owned()))
        } else {
            Err(Invalid::new("props", "numbers must be finite"))
        }
    }

    /// Text the caller guarantees is a JSON number: JavaScript's `String(n)` of a finite
    /// number always is. Lets the widget skip a second grammar check in wasm.
    pub fn from_finite_js(text: String) -> Number {
        Number(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<f64> for Number {
    type Error = Invalid;
    fn try_from(value: f64) -> Result<Number, Invalid> {
        if value.is_finite() {
            Ok(Number(value.to_string()))
        } else {
            Err(Invalid::new("props", "numbers must be finite"))
        }
    }
}

/// Integers stay integers through the collector; other numbers travel as f64.
#[cfg(feature = "serde")]
impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Ok(i) = self.0.parse::<i64>() {
            s.serialize_i64(i)
        } else if let Ok(u) = self.0.parse::<u64>() {
            s.serialize_u64(u)
        } else {
            s.serialize_f64(self.0.parse().unwrap_or(0.0))
        }
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Number, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Number;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a finite number")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Number, E> {
                Number::try_from(v).map_err(|e| E::custom(e.reason))
            }
        }
        d.deserialize_any(Visitor)
    }
}

fn is_json_number(b: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    if b.get(i) == Some(&b'0') {
        i += 1;
    } else if !digits(&mut i) {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

/// A property value: flat JSON scalars only.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(untagged))]
pub enum PropValue {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
}

/// Event properties: a flat JSON object, in insertion order.
///
/// A vector rather than a map: events carry a handful of properties, and a `BTreeMap`
/// would cost the widget several KB of code.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Props(Vec<(String, PropValue)>);

impl Props {
    pub fn new() -> Props {
        Props(Vec::new())
    }

    /// Appends `key`, which the caller knows is not present yet (a JavaScript object's own
    /// keys are unique). Cheaper in the widget than [`Props::insert`].
    pub fn push_new(&mut self, key: String, value: PropValue) {
        self.0.push((key, value));
    }

    /// Sets `key`, replacing an earlier value (as a JavaScript object would).
    pub fn insert(&mut self, key: String, value: PropValue) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&PropValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes `key`, returning its value if it was there.
    pub fn remove(&mut self, key: &str) -> Option<PropValue> {
        let at = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(at).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &PropValue)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Props {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Why a props object with more than [`validate::MAX_PROPS_KEYS`] keys is refused.
pub const TOO_MANY_PROPS: &str = "props: more than 256 keys";
/// Why a props object over [`validate::MAX_PROPS_BYTES`] is refused.
pub const PROPS_TOO_LARGE: &str = "props: are larger than 8 KB when serialized";

/// The fewest bytes `value` takes in JSON (its text, plus quotes for a string).
#[cfg(feature = "serde")]
fn encoded_len_at_least(value: &PropValue) -> usize {
    match value {
        PropValue::Null => 4,
        PropValue::Bool(b) => {
            if *b {
                4
            } else {
                5
            }
        }
        PropValue::Num(n) => n.as_str().len(),
        PropValue::Str(s) => s.len() + 2,
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Props {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Props, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Props;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a flat object of strings, numbers, booleans and nulls")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Props, A::Error> {
                use serde::de::Error;
                let too_large = || A::Error::custom(PROPS_TOO_LARGE);
                // The limits are checked entry by entry, as the object is read: a hostile
                // object stops at its first key over the count or its first byte over the
                // size, before the rest is decoded. Repeated keys count each time.
                let mut props = Props::new();
                let mut slots: alloc::collections::BTreeMap<String, usize> =
                    alloc::collections::BTreeMap::new();
                let mut entries = 0;
                let mut bytes = 2; // {}
                while let Some(key) = map.next_key::<String>()? {
                    entries += 1;
                    if entries > validate::MAX_PROPS_KEYS {
                        return Err(A::Error::custom(TOO_MANY_PROPS));
                    }
                    validate::prop_key(&key).map_err(A::Error::custom)?;
                    // At least the key's quotes and colon, and a comma after the first.
                    bytes += key.len() + 3 + usize::from(entries > 1);
                    if bytes > validate::MAX_PROPS_BYTES {
                        return Err(too_large());
                    }
                    let value: PropValue = map.next_value()?;
                    bytes += encoded_len_at_least(&value);
                    if bytes > validate::MAX_PROPS_BYTES {
                        return Err(too_large());
                    }
                    // A later copy of a key replaces the value in the first one's place, as
                    // in a JavaScript object; found through the map, not a scan.
                    match slots.get(&key) {
                        Some(&at) => props.0[at].1 = value,
                        None => {
                            slots.insert(key.clone(), props.0.len());
                            props.0.push((key, value));
                        }
                    }
                }
                Ok(props)
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// One event. Field names are the wire names; `docs/wire-format.md` describes them.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Event {
    /// UUID v4, unique per event; the collector stores each id once.
    pub id: Uuid,
    /// 1–64 characters of `a-z 0-9 _ . -`.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^[a-z0-9_.-]{1,64}$", min_length = 1, max_length = 64)
    )]
    pub name: String,
    /// Client wall-clock time of the event, ms since the Unix epoch.
    #[cfg_attr(feature = "serde", serde(deserialize_with = "crate::json::whole_u64"))]
    pub ts: u64,
    pub visitor_id: Uuid,
    pub session_id: Uuid,
    pub pageview_id: Uuid,
    /// Whether the visitor had an earlier session when this event happened.
    pub returning: bool,
    /// An absolute http(s) URL of at most 2048 bytes.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^https?://", max_length = 2048)
    )]
    pub url: String,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub referrer: Option<String>,
    /// A flat object: string, number, boolean or null values; at most 256 keys of 1–64
    /// characters; at most 8 KB serialized.
    #[cfg_attr(feature = "serde", serde(default))]
    #[cfg_attr(feature = "openapi", schema(schema_with = props_schema))]
    pub props: Props,
}

/// `props` as the contract states it: a flat object of scalars, at most 256 keys of 1-64
/// characters. (The 8 KB bound on the serialized object, and the byte lengths, are beyond a
/// schema: the collector names them in its 400.)
#[cfg(feature = "openapi")]
fn props_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::SchemaType;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let scalar = ObjectBuilder::new().schema_type(SchemaType::from_iter([
        Type::String,
        Type::Number,
        Type::Boolean,
        Type::Null,
    ]));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "A flat object: string, number, boolean or null values; at most 256 keys of 1-64 \
             characters; at most 8 KB serialized.",
        ))
        .additional_properties(Some(scalar))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(validate::MAX_PROP_KEY_LEN)),
        ))
        .max_properties(Some(validate::MAX_PROPS_KEYS))
        .build()
}

impl Event {
    /// Checks the rules both the widget and the collector enforce.
    pub fn validate(&self) -> Result<(), Invalid> {
        validate::event_name(&self.name)?;
        validate::url("url", &self.url)?;
        if let Some(referrer) = &self.referrer {
            if referrer.len() > validate::MAX_URL_LEN {
                return Err(Invalid::new("referrer", "is longer than 2048 bytes"));
            }
        }
        validate_props(&self.props)?;
        validate::measures(&self.name, |key| match self.props.get(key)? {
            PropValue::Null => None,
            PropValue::Num(n) => Some(n.as_str().parse::<f64>().map_err(|_| ())),
            _ => Some(Err(())),
        })
    }

    pub fn to_json(&self) -> String {
        let mut w = Writer::new();
        self.write_json(&mut w);
        w.finish()
    }

    pub fn write_json(&self, w: &mut Writer) {
        w.begin_object();
        w.key("id");
        w.uuid(&self.id);
        w.key("name");
        w.string(&self.name);
        w.key("ts");
        w.u64(self.ts);
        w.key("visitor_id");
        w.uuid(&self.visitor_id);
        w.key("session_id");
        w.uuid(&self.session_id);
        w.key("pageview_id");
        w.uuid(&self.pageview_id);
        w.key("returning");
        w.bool(self.returning);
        w.key("url");
        w.string(&self.url);
        if let Some(referrer) = &self.referrer {
            w.key("referrer");
            w.string(referrer);
        }
        w.key("props");
        write_props(&self.props, w);
        w.end_object();
    }
}

pub fn write_props(props: &Props, w: &mut Writer) {
    w.begin_object();
    for (key, value) in props.iter() {
        w.key(key);
        match value {
            PropValue::Null => w.null(),
            PropValue::Bool(b) => w.bool(*b),
            PropValue::Num(n) => w.raw(n.as_str()),
            PropValue::Str(s) => w.string(s),
        }
    }
    w.end_object();
}

/// Keys are bounded in number and length, and the encoded object fits in
/// [`validate::MAX_PROPS_BYTES`].
pub fn validate_props(props: &Props) -> Result<(), Invalid> {
    if props.len() > validate::MAX_PROPS_KEYS {
        return Err(Invalid::new("props", "more than 256 keys"));
    }
    for (key, _) in props.iter() {
        validate::prop_key(key)?;
    }
    let mut w = Writer::new();
    write_props(props, &mut w);
    if w.finish().len() > validate::MAX_PROPS_BYTES {
        return Err(Invalid::new(
            "props",
            "are larger than 8 KB when serialized",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_parse_follows_json_grammar() {
        for ok in ["0", "-1", "3.25", "1e+21", "2E-7", "-0.5"] {
            assert!(Number::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "NaN", "Infinity", "01", "1.", ".5", "1e", "--1", "0x10"] {
            assert!(Number::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validate_props_rejects_oversized_objects() {
        let mut props = Props::new();
        props.insert("k".into(), PropValue::Str("x".repeat(8 * 1024)));
        assert_eq!(validate_props(&props).unwrap_err().field, "props");
        props.insert("k".into(), PropValue::Str("x".repeat(100)));
        assert!(validate_props(&props).is_ok());
    }

    /// `{"k0":0,"k1":0,…` with `n` keys, followed by `rest`.
    fn object_of(n: usize, rest: &str) -> String {
        let keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\":0")).collect();
        format!("{{{}{rest}", keys.join(","))
    }

    #[test]
    fn decoding_stops_at_the_first_key_over_the_limit() {
        let most = object_of(validate::MAX_PROPS_KEYS, "}");
        assert_eq!(
            serde_json::from_str::<Props>(&most).unwrap().len(),
            validate::MAX_PROPS_KEYS
        );
        // 100 000 keys: refused at key 257. What follows it is not JSON at all, so an
        // error naming the key limit shows that nothing after that key was read.
        let hostile = object_of(100_000, "");
        let cut = hostile
            .match_indices(',')
            .nth(validate::MAX_PROPS_KEYS)
            .unwrap()
            .0;
        let probe = format!("{}, this is not json", &hostile[..cut]);
        let err = serde_json::from_str::<Props>(&probe)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(TOO_MANY_PROPS), "{err}");
        let err = serde_json::from_str::<Props>(&hostile)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(TOO_MANY_PROPS), "{err}");
    }

    #[test]
    fn decoding_stops_at_the_first_byte_over_the_size() {
        // 40 keys of 250 bytes: over 8 KB by the 33rd, and the rest is never read.
        let value = "x".repeat(250);
        let entries: Vec<String> = (0..33).map(|i| format!("\"k{i}\":\"{value}\"")).collect();
        let probe = format!("{{{}, this is not json", entries.join(","));
        let err = serde_json::from_str::<Props>(&probe)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(PROPS_TOO_LARGE), "{err}");
        // Repeated keys count each time they are sent.
        let repeated: Vec<String> = (0..40).map(|_| format!("\"k\":\"{value}\"")).collect();
        let err = serde_json::from_str::<Props>(&format!("{{{}}}", repeated.join(",")))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(PROPS_TOO_LARGE), "{err}");
        // A long key is refused as it is read.
        let long = format!("{{\"{}\":1}}", "k".repeat(65));
        let err = serde_json::from_str::<Props>(&long)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("props: keys must be 1-64 characters"),
            "{err}"
        );
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_last_value() {
        let props: Props = serde_json::from_str(r#"{"a":1,"b":2,"a":3}"#).unwrap();
        let got: Vec<_> = props
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_owned(), PropValue::Num(Number("3".into()))),
                ("b".to_owned(), PropValue::Num(Number("2".into()))),
            ]
        );
    }

    #[test]
    fn validate_props_bounds_the_number_of_keys() {
        let mut props = Props::new();
        for i in 0..=validate::MAX_PROPS_KEYS {
            props.push_new(format!("k{i}"), PropValue::Null);
        }
        assert_eq!(
            validate_props(&props).unwrap_err(),
            Invalid::new("props", "more than 256 keys")
        );
    }
}
