//! Tables as CSV files the browser downloads.

use wasm_bindgen::JsCast;

/// One CSV line per row, fields quoted where they need it (RFC 4180). A text that a
/// spreadsheet would run as a formula (a shopper's answer starting with `=`, `+`, `-` or
/// `@`) starts with `'`, so it is shown as text; numbers stay numbers.
pub fn text(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|f| {
                let formula = f.starts_with(['=', '+', '-', '@', '\t', '\r'])
                    && f.trim().parse::<f64>().is_err();
                let f = &if formula { format!("'{f}") } else { f.clone() };
                if f.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.clone()
                }
            })
            .collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Offers `rows` as the file `name`.
pub fn download(name: &str, rows: &[Vec<String>]) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(&text(rows).into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/csv;charset=utf-8");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(a) = document
        .create_element("a")
        .ok()
        .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_are_quoted_where_needed() {
        let rows = vec![
            vec!["path".to_string(), "pageviews".to_string()],
            vec!["/a,b".to_string(), "3".to_string()],
            vec!["say \"hi\"".to_string(), "1".to_string()],
        ];
        assert_eq!(
            super::text(&rows),
            "path,pageviews\r\n\"/a,b\",3\r\n\"say \"\"hi\"\"\",1\r\n"
        );
    }

    #[test]
    fn a_formula_stays_text_and_a_number_a_number() {
        let rows = vec![vec![
            "=HYPERLINK(\"x\")".to_string(),
            "-2.5".to_string(),
            "@me".to_string(),
        ]];
        assert_eq!(
            super::text(&rows),
            "\"'=HYPERLINK(\"\"x\"\")\",-2.5,'@me\r\n"
        );
    }
}
