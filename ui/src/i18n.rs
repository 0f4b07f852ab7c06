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

/// The loyalty and referral panels' words. `{n}`, `{tier}`, `{unit}` and `{reward}` are
/// filled in by the panel; numbers arrive formatted for the language.
pub struct Panel {
    /// The launcher's and the panel's title.
    pub title: &'static str,
    pub points_tab: &'static str,
    pub refer_tab: &'static str,
    /// The balance, as the launcher's accessible name: "{n} points".
    pub points: &'static str,
    pub balance: &'static str,
    pub member: &'static str,
    pub to_next: &'static str,
    pub top: &'static str,
    pub earn: &'static str,
    pub earn_feedback: &'static str,
    pub earn_referral: &'static str,
    pub earn_order: &'static str,
    /// A way to earn's points: "+{n}".
    pub plus: &'static str,
    pub rewards: &'static str,
    pub redeem: &'static str,
    pub needs: &'static str,
    pub coupon: &'static str,
    pub copy_code: &'static str,
    pub activity: &'static str,
    pub nothing_yet: &'static str,
    /// Ledger reasons: order, order_refund, referral, feedback, redeem.
    pub reasons: [&'static str; 5],
    pub tiers: &'static str,
    pub join_title: &'static str,
    pub join: &'static str,
    pub your_link: &'static str,
    pub copy_link: &'static str,
    pub copied: &'static str,
    pub share: &'static str,
    /// Referral stats: invited, ordered, pending, earned.
    pub stats: [&'static str; 4],
    pub failed: &'static str,
    pub not_redeemed: &'static str,
    pub not_copied: &'static str,
    pub retry: &'static str,
    pub loading: &'static str,
    /// The prefilled share message; the link follows it.
    pub message: &'static str,
    /// The share e-mail's subject.
    pub subject: &'static str,
    /// After a promoter's NPS answer: the offer follows.
    pub nudge: &'static str,
}

const EN_PANEL: Panel = Panel {
    title: "Rewards",
    points_tab: "Points",
    refer_tab: "Refer a friend",
    points: "{n} points",
    balance: "Your points",
    member: "{tier} member",
    to_next: "{n} more points to {tier}",
    top: "You have reached the top tier",
    earn: "Ways to earn",
    earn_feedback: "Leave feedback",
    earn_referral: "Refer a friend who orders",
    earn_order: "Every {unit} spent",
    plus: "+{n}",
    rewards: "Rewards",
    redeem: "Redeem",
    needs: "{n} points",
    coupon: "Your code for {reward}",
    copy_code: "Copy code",
    activity: "Recent activity",
    nothing_yet: "No points yet",
    reasons: [
        "Order",
        "Refund",
        "Friend's order",
        "Feedback",
        "Reward redeemed",
    ],
    tiers: "Tiers",
    join_title: "Join to collect points and rewards",
    join: "Join or sign in",
    your_link: "Your personal link",
    copy_link: "Copy link",
    copied: "Copied",
    share: "Share",
    stats: [
        "Friends invited",
        "Friends who ordered",
        "Rewards pending",
        "Rewards earned",
    ],
    failed: "This could not be loaded.",
    not_redeemed: "The reward could not be redeemed. Try again.",
    not_copied: "Copying did not work. Select the text and copy it.",
    retry: "Try again",
    loading: "Loading…",
    message: "I think you'll like this shop. Here's a welcome gift for your first order:",
    subject: "A gift for your first order",
    nudge: "Glad you like us! Invite a friend:",
};

const AR_PANEL: Panel = Panel {
    title: "المكافآت",
    points_tab: "النقاط",
    refer_tab: "ادعُ صديقًا",
    points: "{n} نقطة",
    balance: "نقاطك",
    member: "عضو {tier}",
    to_next: "{n} نقطة إضافية للوصول إلى {tier}",
    top: "لقد بلغت أعلى مستوى",
    earn: "طرق كسب النقاط",
    earn_feedback: "شاركنا رأيك",
    earn_referral: "ادعُ صديقًا يشتري",
    earn_order: "لكل {unit} تنفقه",
    plus: "+{n}",
    rewards: "المكافآت",
    redeem: "استبدال",
    needs: "{n} نقطة",
    coupon: "رمزك لـ {reward}",
    copy_code: "نسخ الرمز",
    activity: "النشاط الأخير",
    nothing_yet: "لا توجد نقاط بعد",
    reasons: ["طلب", "استرداد", "طلب صديق", "ملاحظات", "مكافأة مستبدلة"],
    tiers: "المستويات",
    join_title: "انضم لتجمع النقاط والمكافآت",
    join: "انضم أو سجّل الدخول",
    your_link: "رابطك الشخصي",
    copy_link: "نسخ الرابط",
    copied: "تم النسخ",
    share: "مشاركة",
    stats: [
        "أصدقاء مدعوون",
        "أصدقاء اشتروا",
        "مكافآت معلّقة",
        "مكافآت مكتسبة",
    ],
    failed: "تعذّر التحميل.",
    not_redeemed: "تعذّر استبدال المكافأة. أعد المحاولة.",
    not_copied: "تعذّر النسخ. حدّد النص وانسخه.",
    retry: "أعد المحاولة",
    loading: "جارٍ التحميل…",
    message: "أظن أن هذا المتجر سيعجبك. إليك هدية ترحيب لطلبك الأول:",
    subject: "هدية لطلبك الأول",
    nudge: "يسعدنا أنك معنا! ادعُ صديقًا:",
};

const HE_PANEL: Panel = Panel {
    title: "הטבות",
    points_tab: "נקודות",
    refer_tab: "הזמינו חבר",
    points: "{n} נקודות",
    balance: "הנקודות שלך",
    member: "חבר/ת {tier}",
    to_next: "עוד {n} נקודות לדרגת {tier}",
    top: "הגעת לדרגה העליונה",
    earn: "איך צוברים",
    earn_feedback: "משאירים משוב",
    earn_referral: "חבר שהזמנתם קונה",
    earn_order: "על כל {unit} בקנייה",
    plus: "+{n}",
    rewards: "הטבות למימוש",
    redeem: "מימוש",
    needs: "{n} נקודות",
    coupon: "הקוד שלך עבור {reward}",
    copy_code: "העתקת הקוד",
    activity: "פעילות אחרונה",
    nothing_yet: "עדיין אין נקודות",
    reasons: ["הזמנה", "החזר", "הזמנה של חבר", "משוב", "מימוש הטבה"],
    tiers: "דרגות",
    join_title: "הצטרפו כדי לצבור נקודות והטבות",
    join: "הצטרפות או כניסה",
    your_link: "הקישור האישי שלך",
    copy_link: "העתקת הקישור",
    copied: "הועתק",
    share: "שיתוף",
    stats: [
        "חברים שהוזמנו",
        "חברים שקנו",
        "הטבות בהמתנה",
        "הטבות שהתקבלו",
    ],
    failed: "לא ניתן היה לטעון.",
    not_redeemed: "לא ניתן היה לממש את ההטבה. נסו שוב.",
    not_copied: "ההעתקה לא הצליחה. סמנו את הטקסט והעתיקו אותו.",
    retry: "לנסות שוב",
    loading: "טוען…",
    message: "נראה לי שהחנות הזאת תמצא חן בעיניך. הנה מתנת הצטרפות להזמנה הראשונה:",
    subject: "מתנה להזמנה הראשונה שלך",
    nudge: "שמחים שאתם נהנים! הזמינו חבר:",
};

const TH_PANEL: Panel = Panel {
    title: "รางวัล",
    points_tab: "คะแนน",
    refer_tab: "ชวนเพื่อน",
    points: "{n} คะแนน",
    balance: "คะแนนของคุณ",
    member: "สมาชิกระดับ{tier}",
    to_next: "อีก {n} คะแนนถึงระดับ{tier}",
    top: "คุณอยู่ในระดับสูงสุดแล้ว",
    earn: "วิธีสะสมคะแนน",
    earn_feedback: "แสดงความคิดเห็น",
    earn_referral: "ชวนเพื่อนมาซื้อ",
    earn_order: "ทุก {unit} ที่ใช้จ่าย",
    plus: "+{n}",
    rewards: "ของรางวัล",
    redeem: "แลก",
    needs: "{n} คะแนน",
    coupon: "รหัสของคุณสำหรับ{reward}",
    copy_code: "คัดลอกรหัส",
    activity: "กิจกรรมล่าสุด",
    nothing_yet: "ยังไม่มีคะแนน",
    reasons: [
        "คำสั่งซื้อ",
        "คืนเงิน",
        "คำสั่งซื้อของเพื่อน",
        "ความคิดเห็น",
        "แลกของรางวัล",
    ],
    tiers: "ระดับสมาชิก",
    join_title: "สมัครเพื่อสะสมคะแนนและรับรางวัล",
    join: "สมัครหรือเข้าสู่ระบบ",
    your_link: "ลิงก์ส่วนตัวของคุณ",
    copy_link: "คัดลอกลิงก์",
    copied: "คัดลอกแล้ว",
    share: "แชร์",
    stats: ["เพื่อนที่ชวน", "เพื่อนที่สั่งซื้อ", "รางวัลที่รอ", "รางวัลที่ได้รับ"],
    failed: "โหลดไม่สำเร็จ",
    not_redeemed: "แลกของรางวัลไม่สำเร็จ ลองอีกครั้ง",
    not_copied: "คัดลอกไม่สำเร็จ เลือกข้อความแล้วคัดลอกเอง",
    retry: "ลองอีกครั้ง",
    loading: "กำลังโหลด…",
    message: "คิดว่าคุณน่าจะชอบร้านนี้ นี่คือของขวัญต้อนรับสำหรับคำสั่งซื้อแรกของคุณ:",
    subject: "ของขวัญสำหรับคำสั่งซื้อแรกของคุณ",
    nudge: "ดีใจที่คุณชอบ! ชวนเพื่อน:",
};

/// The panels' strings for a language tag; English for any other.
pub fn panel(tag: &str) -> &'static Panel {
    match strings(tag).lang {
        "ar" => &AR_PANEL,
        "he" => &HE_PANEL,
        "th" => &TH_PANEL,
        _ => &EN_PANEL,
    }
}

/// `template` with each `{key}` replaced by its value. (A scan on `{` rather than
/// `str::replace`, whose substring searcher would add kilobytes to the module.)
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, part) in template.split('{').enumerate() {
        if i == 0 {
            out.push_str(part);
            continue;
        }
        let known = part
            .split_once('}')
            .and_then(|(key, rest)| Some((values.iter().find(|(k, _)| *k == key)?.1, rest)));
        match known {
            Some((value, rest)) => {
                out.push_str(value);
                out.push_str(rest);
            }
            None => {
                out.push('{');
                out.push_str(part);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{fill, panel, resolve, strings};

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

    #[test]
    fn panel_templates_are_filled_in_every_language() {
        for tag in ["en", "ar", "he", "th"] {
            let p = panel(tag);
            let line = fill(p.to_next, &[("n", "377"), ("tier", "Silver")]);
            assert!(
                line.contains("377") && line.contains("Silver") && !line.contains('{'),
                "{tag}: {line}"
            );
            assert!(
                fill(p.earn_order, &[("unit", "$1")]).contains("$1"),
                "{tag}"
            );
            assert!(fill(p.coupon, &[("reward", "R")]).contains('R'), "{tag}");
        }
        assert_eq!(panel("fr").title, panel("en").title);
        assert_ne!(panel("ar-EG").title, panel("en").title);
    }
}
