//! The widget's own words in English, Arabic, Hebrew and Thai, and how a page's language is
//! chosen: the `data-locale` attribute, else the browser's language, else English.

pub struct Strings {
    /// The language tag the strings are in.
    pub lang: &'static str,
    pub rtl: bool,
    pub close: &'static str,
    pub send: &'static str,
    pub skip: &'static str,
    pub thanks: &'static str,
    /// The ends of the 0–10 recommendation scale.
    pub nps_low: &'static str,
    pub nps_high: &'static str,
    /// CSAT 1 to 5.
    pub csat: [&'static str; 5],
    pub yes: &'static str,
    pub no: &'static str,
    /// Label of a free-text answer.
    pub answer: &'static str,
    /// The side tab's label.
    pub tab: &'static str,
}

const EN: Strings = Strings {
    lang: "en",
    rtl: false,
    close: "Close",
    send: "Send",
    skip: "Skip",
    thanks: "Thank you for your feedback!",
    nps_low: "Not at all likely",
    nps_high: "Extremely likely",
    csat: [
        "Very dissatisfied",
        "Dissatisfied",
        "Neutral",
        "Satisfied",
        "Very satisfied",
    ],
    yes: "Yes",
    no: "No",
    answer: "Your answer",
    tab: "Feedback",
};

const AR: Strings = Strings {
    lang: "ar",
    rtl: true,
    close: "إغلاق",
    send: "إرسال",
    skip: "تخطٍّ",
    thanks: "شكرًا لك على ملاحظاتك!",
    nps_low: "غير محتمل على الإطلاق",
    nps_high: "محتمل للغاية",
    csat: ["غير راضٍ إطلاقًا", "غير راضٍ", "محايد", "راضٍ", "راضٍ جدًا"],
    yes: "نعم",
    no: "لا",
    answer: "إجابتك",
    tab: "شاركنا رأيك",
};

const HE: Strings = Strings {
    lang: "he",
    rtl: true,
    close: "סגירה",
    send: "שליחה",
    skip: "דילוג",
    thanks: "תודה על המשוב!",
    nps_low: "בכלל לא סביר",
    nps_high: "סביר מאוד",
    csat: ["בכלל לא מרוצה", "לא מרוצה", "ניטרלי", "מרוצה", "מרוצה מאוד"],
    yes: "כן",
    no: "לא",
    answer: "התשובה שלך",
    tab: "משוב",
};

const TH: Strings = Strings {
    lang: "th",
    rtl: false,
    close: "ปิด",
    send: "ส่ง",
    skip: "ข้าม",
    thanks: "ขอบคุณสำหรับความคิดเห็นของคุณ",
    nps_low: "ไม่น่าจะแนะนำเลย",
    nps_high: "แนะนำแน่นอน",
    csat: ["ไม่พอใจมาก", "ไม่พอใจ", "เฉยๆ", "พอใจ", "พอใจมาก"],
    yes: "ใช่",
    no: "ไม่ใช่",
    answer: "คำตอบของคุณ",
    tab: "ความคิดเห็น",
};

fn known(tag: &str) -> Option<&'static Strings> {
    let primary = tag.split(['-', '_']).next().unwrap_or("");
    match primary.to_ascii_lowercase().as_str() {
        "en" => Some(&EN),
        "ar" => Some(&AR),
        // `iw` is Hebrew's old code, still sent by some Android browsers.
        "he" | "iw" => Some(&HE),
        "th" => Some(&TH),
        _ => None,
    }
}

/// The strings for a language tag (`ar`, `ar-EG`); English for any other.
pub fn strings(tag: &str) -> &'static Strings {
    known(tag).unwrap_or(&EN)
}

/// The language of the first of `candidates` (a configured locale, then the browser's
/// languages) that has built-in strings; English when none has.
pub fn resolve<'a>(candidates: impl IntoIterator<Item = &'a str>) -> &'static str {
    candidates
        .into_iter()
        .find_map(known)
        .map_or("en", |s| s.lang)
}

#[cfg(test)]
mod tests {
    use super::{resolve, strings};

    #[test]
    fn the_first_supported_language_wins() {
        assert_eq!(resolve(["fr-FR", "ar-EG"]), "ar");
        assert_eq!(resolve(["iw"]), "he");
        assert!(strings("he-IL").rtl && strings("ar").rtl && !strings("th_TH").rtl);
        assert_eq!(resolve(["th_TH"]), "th");
        assert_eq!(resolve(["de", "xx"]), "en");
        assert_eq!(resolve([]), "en");
        assert_eq!(strings("fr").lang, "en");
    }
}
