//! Tables as CSV files the browser downloads.

use wasm_bindgen::JsCast;

/// One CSV line per row, fields quoted where they need it (RFC 4180).
pub fn text(rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    for row in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|f| {
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
}
