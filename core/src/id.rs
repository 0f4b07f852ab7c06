//! UUID text without the uuid crate's parser and formatter, which cost the widget over 1 KB
//! of wasm. The collector parses ids with uuid's own serde support; `tests` below check that
//! the two agree.

use uuid::Uuid;

const HEX: &[u8; 16] = b"0123456789abcdef";
/// Byte offsets of the hyphens in `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];
pub const LEN: usize = 36;

/// Lower-case hyphenated text of `id`.
pub fn encode(id: &Uuid) -> [u8; LEN] {
    let mut out = [b'-'; LEN];
    // Iterators rather than indexing keep bounds-check panics (and their text) out of wasm.
    let mut digits = out
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| !HYPHENS.contains(i))
        .map(|(_, d)| d);
    for byte in id.as_bytes() {
        for nibble in [byte >> 4, byte & 0xf] {
            if let Some(d) = digits.next() {
                *d = HEX[usize::from(nibble)];
            }
        }
    }
    out
}

pub fn push(out: &mut alloc::string::String, id: &Uuid) {
    for &b in &encode(id) {
        out.push(b as char);
    }
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses the hyphenated form only (the one this crate writes).
pub fn parse(text: &str) -> Option<Uuid> {
    let text = text.as_bytes();
    if text.len() != LEN || HYPHENS.iter().any(|&i| text.get(i) != Some(&b'-')) {
        return None;
    }
    let mut bytes = [0u8; 16];
    let mut digits = text.iter().filter(|&&c| c != b'-');
    for byte in &mut bytes {
        *byte = nibble(*digits.next()?)? << 4 | nibble(*digits.next()?)?;
    }
    Some(Uuid::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_parse_agree_with_the_uuid_crate() {
        for n in [
            0u128,
            1,
            u128::MAX,
            0x0123_4567_89ab_4cde_8f01_2345_6789_abcd,
        ] {
            let id = Uuid::from_u128(n);
            let text = encode(&id);
            let text = core::str::from_utf8(&text).unwrap();
            assert_eq!(text, id.hyphenated().to_string());
            assert_eq!(parse(text), Some(id));
            assert_eq!(parse(&text.to_uppercase()), Some(id));
        }
    }

    #[test]
    fn parse_rejects_other_shapes() {
        let good = "01234567-89ab-4cde-8f01-23456789abcd";
        assert!(parse(good).is_some());
        for bad in [
            "",
            "0123456789ab4cde8f0123456789abcd",
            "01234567-89ab-4cde-8f01-23456789abcg",
            "01234567+89ab-4cde-8f01-23456789abcd",
            &good[1..],
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
