//! A minimal JSON writer for the wire format.
//!
//! The widget cannot afford serde_json or `core::fmt` (about 21 KB gzip together), and the
//! wire types are few and fixed, so they are written by hand here. The collector decodes the
//! same bytes with serde; `tests/wire.rs` checks that the two agree.

use alloc::string::String;

/// Appends JSON tokens to a `String`, inserting commas between members.
pub struct Writer {
    out: String,
    /// Whether the innermost open object or array still awaits its first member.
    first: bool,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Self {
        Writer {
            out: String::new(),
            first: true,
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    pub fn begin_object(&mut self) {
        self.out.push('{');
        self.first = true;
    }

    pub fn end_object(&mut self) {
        self.out.push('}');
        self.first = false;
    }

    pub fn begin_array(&mut self) {
        self.out.push('[');
        self.first = true;
    }

    pub fn end_array(&mut self) {
        self.out.push(']');
        self.first = false;
    }

    /// Starts an object member; the value written next belongs to it.
    pub fn key(&mut self, key: &str) {
        self.separate();
        push_string(&mut self.out, key);
        self.out.push(':');
        self.first = true;
    }

    /// Starts an array element.
    pub fn element(&mut self) {
        self.separate();
    }

    pub fn string(&mut self, value: &str) {
        push_string(&mut self.out, value);
        self.first = false;
    }

    pub fn u64(&mut self, value: u64) {
        push_u64(&mut self.out, value);
        self.first = false;
    }

    pub fn i64(&mut self, value: i64) {
        if value < 0 {
            self.out.push('-');
        }
        push_u64(&mut self.out, value.unsigned_abs());
        self.first = false;
    }

    pub fn bool(&mut self, value: bool) {
        self.out.push_str(if value { "true" } else { "false" });
        self.first = false;
    }

    pub fn null(&mut self) {
        self.out.push_str("null");
        self.first = false;
    }

    /// Writes text that is already valid JSON: a [`crate::Number`], or an encoded event.
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
        self.first = false;
    }

    pub fn uuid(&mut self, id: &uuid::Uuid) {
        self.out.push('"');
        crate::id::push(&mut self.out, id);
        self.out.push('"');
        self.first = false;
    }
}

pub(crate) fn push_u64(out: &mut String, value: u64) {
    // Recursion instead of a digit buffer: no indexing, so no bounds-check panic paths.
    if value >= 10 {
        push_u64(out, value / 10);
    }
    out.push(char::from(b'0' + (value % 10) as u8));
}

/// Escapes `"`, `\\` and control characters as JSON requires, and U+2028/U+2029, which are
/// valid JSON but end a JavaScript string literal.
fn push_string(out: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let v = c as u32;
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((v >> shift) & 0xf) as usize] as char);
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Deserializes a `u64` from a JSON number whose value is a whole number from 0 to 2^63-1:
/// the contract's `integer` of format `int64` (and what the database's BIGINT holds). `5.0`
/// and `5e3` are integers to JSON Schema too, and some JSON encoders write whole floats so:
/// they are taken. A fraction, a negative number or anything from 2^63 up is refused.
#[cfg(feature = "serde")]
pub fn whole_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    whole_up_to(d, i64::MAX as u64)
}

/// Like [`whole_u64`], up to `u64::MAX`: for a field whose own, lower limit is checked after
/// decoding, so that the answer names the field (`amount_cents: must be at most …`).
#[cfg(feature = "serde")]
pub fn whole_u64_unbounded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    whole_up_to(d, u64::MAX)
}

#[cfg(feature = "serde")]
fn whole_up_to<'de, D: serde::Deserializer<'de>>(d: D, max: u64) -> Result<u64, D::Error> {
    use serde::de::{Error, Unexpected};
    struct Whole(u64);
    impl serde::de::Visitor<'_> for Whole {
        type Value = u64;
        fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
            if self.0 == u64::MAX {
                f.write_str("a whole number from 0 to 2^64-1")
            } else {
                f.write_str("a whole number from 0 to 2^63-1")
            }
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<u64, E> {
            if v <= self.0 {
                Ok(v)
            } else {
                Err(E::invalid_value(Unexpected::Unsigned(v), &self))
            }
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<u64, E> {
            match u64::try_from(v) {
                Ok(n) => self.visit_u64(n),
                Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
            }
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<u64, E> {
            // The limit plus one as a float (2^63 or 2^64) is out of range; below it, a float
            // is whole when it survives the round trip through u64.
            let n = v as u64;
            if (0.0..self.0 as f64).contains(&v) && n as f64 == v {
                Ok(n)
            } else {
                Err(E::invalid_value(Unexpected::Float(v), &self))
            }
        }
    }
    d.deserialize_any(Whole(max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_output_parses_as_the_same_values() {
        let mut w = Writer::new();
        w.begin_object();
        w.key("s");
        w.string("quote \" slash \\ nl \n ctl \u{1} sep \u{2028} thai ภาษาไทย");
        w.key("n");
        w.i64(i64::MIN);
        w.key("u");
        w.u64(u64::MAX);
        w.key("a");
        w.begin_array();
        for v in [0u64, 7, 10] {
            w.element();
            w.u64(v);
        }
        w.element();
        w.begin_object();
        w.end_object();
        w.end_array();
        w.key("b");
        w.bool(false);
        w.key("z");
        w.null();
        w.end_object();
        let text = w.finish();
        let v: serde_json::Value = serde_json::from_str(&text).expect(&text);
        assert_eq!(
            v["s"],
            "quote \" slash \\ nl \n ctl \u{1} sep \u{2028} thai ภาษาไทย"
        );
        assert_eq!(v["n"].as_i64(), Some(i64::MIN));
        assert_eq!(v["u"].as_u64(), Some(u64::MAX));
        assert_eq!(v["a"], serde_json::json!([0, 7, 10, {}]));
        assert_eq!(v["b"], false);
        assert!(v["z"].is_null());
    }

    #[cfg(feature = "serde")]
    #[test]
    fn whole_numbers_within_their_limit() {
        #[derive(serde::Deserialize)]
        struct Both {
            #[serde(deserialize_with = "super::whole_u64")]
            signed: u64,
            #[serde(deserialize_with = "super::whole_u64_unbounded")]
            any: u64,
        }
        let read = |signed: &str, any: &str| {
            serde_json::from_str::<Both>(&format!(r#"{{"signed":{signed},"any":{any}}}"#))
                .map(|b| (b.signed, b.any))
        };
        assert_eq!(read("5.0", "5e3").unwrap(), (5, 5000));
        assert_eq!(
            read("9223372036854775807", "18446744073709551615").unwrap(),
            (i64::MAX as u64, u64::MAX)
        );
        assert!(read("9223372036854775808", "1").is_err());
        assert!(read("9.223372036854775808e18", "1").is_err());
        assert!(read("1", "1.5").is_err());
        assert!(read("1", "-1").is_err());
        assert!(read("1", "1.8446744073709551616e19").is_err());
    }
}
