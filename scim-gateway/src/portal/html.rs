//! Server-rendered HTML: escaping, and the page every portal screen is drawn in (a skip link,
//! one `h1`, a labelled navigation with the current page marked, status messages announced to
//! screen readers). Every value from outside goes through [`escape`].

use std::fmt::Write as _;

/// The portal's sections, in the navigation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Provisioning,
    Domains,
    Guide,
    Status,
    Activity,
    Directory,
}

impl Section {
    const ALL: [Section; 6] = [
        Section::Provisioning,
        Section::Domains,
        Section::Guide,
        Section::Status,
        Section::Activity,
        Section::Directory,
    ];

    pub(crate) fn path(self) -> &'static str {
        match self {
            Section::Provisioning => "/portal/",
            Section::Domains => "/portal/domains",
            Section::Guide => "/portal/guide",
            Section::Status => "/portal/status",
            Section::Activity => "/portal/activity",
            Section::Directory => "/portal/directory",
        }
    }

    pub(crate) fn title(self) -> &'static str {
        match self {
            Section::Provisioning => "SCIM provisioning",
            Section::Domains => "Verified domains",
            Section::Guide => "Setup guide",
            Section::Status => "Connection status",
            Section::Activity => "Provisioning activity",
            Section::Directory => "Users and groups",
        }
    }
}

/// Text made safe for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time as admins read it: `2026-12-02 21:04 UTC`; `—` when there is none.
pub(crate) fn time(time: Option<&prost_types::Timestamp>) -> String {
    let Some(time) = time else {
        return "—".to_owned();
    };
    let text = time.to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(date), Some(clock)) => format!("{date} {clock} UTC"),
        _ => text,
    }
}

/// A message shown above a page's content.
#[derive(Debug, Clone)]
pub(crate) enum Alert {
    /// Something done (announced politely).
    Done(String),
    /// Something refused (announced at once).
    Error(String),
}

/// Who is signed in, for the page's header.
pub(crate) struct Chrome<'a> {
    pub tenant_name: &'a str,
    pub admin_name: &'a str,
    pub csrf: &'a str,
}

/// A hidden field carrying the form's CSRF token.
pub(crate) fn csrf_field(csrf: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        escape(csrf)
    )
}

/// A page that moves on to `location` at once (a same-site navigation), with a link for
/// browsers that do not.
pub(crate) fn forward_page(location: &str) -> String {
    let location = escape(location);
    document(
        &format!(r#"<meta http-equiv="refresh" content="0;url={location}">"#),
        None,
        "Signed in",
        None,
        None,
        &format!(r#"<p><a href="{location}">Continue to the admin portal</a></p>"#),
    )
}

/// A whole page of `section`, signed in (`chrome`) or not.
pub(crate) fn page(
    section: Option<Section>,
    title: &str,
    chrome: Option<&Chrome<'_>>,
    alert: Option<&Alert>,
    body: &str,
) -> String {
    document("", section, title, chrome, alert, body)
}

fn document(
    head: &str,
    section: Option<Section>,
    title: &str,
    chrome: Option<&Chrome<'_>>,
    alert: Option<&Alert>,
    body: &str,
) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let heading = escape(title);
    let site = chrome.map_or_else(String::new, |chrome| {
        format!(" · {}", escape(chrome.tenant_name))
    });
    let _ = write!(
        out,
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
{head}
<title>{heading}{site} · Admin portal</title>
<link rel="stylesheet" href="/portal/static/portal.css">
<script src="/portal/static/portal.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand">Admin portal{site}</p>
"##
    );
    if let Some(chrome) = chrome {
        let _ = writeln!(
            out,
            r#"<form class="signout" method="post" action="/portal/signout">{}<span>Signed in as {}</span> <button type="submit">Sign out</button></form>"#,
            csrf_field(chrome.csrf),
            escape(chrome.admin_name),
        );
        out.push_str(r#"<nav aria-label="Portal"><ul>"#);
        for item in Section::ALL {
            let current = if Some(item) == section {
                r#" aria-current="page""#
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<li><a href="{}"{current}>{}</a></li>"#,
                item.path(),
                item.title()
            );
        }
        out.push_str("</ul></nav>\n");
    }
    let _ = write!(
        out,
        "</header>\n<main id=\"main\" tabindex=\"-1\">\n<h1>{heading}</h1>\n"
    );
    match alert {
        Some(Alert::Done(message)) => {
            let _ = writeln!(
                out,
                "<div class=\"alert done\" role=\"status\">{}</div>",
                escape(message)
            );
        }
        Some(Alert::Error(message)) => {
            let _ = writeln!(
                out,
                "<div class=\"alert error\" role=\"alert\">{}</div>",
                escape(message)
            );
        }
        None => {}
    }
    out.push_str(body);
    out.push_str("\n</main>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        let html = page(
            Some(Section::Domains),
            "<b>",
            Some(&Chrome {
                tenant_name: "<i>Acme</i>",
                admin_name: "\"Ann\"",
                csrf: "x\"y",
            }),
            Some(&Alert::Error("<img>".into())),
            "",
        );
        assert!(!html.contains("<b>") && !html.contains("<i>") && !html.contains("<img>"));
        assert!(html.contains(r#"<a href="/portal/domains" aria-current="page">"#));
    }

    #[test]
    fn times_read_as_minutes_in_utc() {
        let time = prost_types::Timestamp {
            seconds: 1_796_245_440,
            nanos: 5,
        };
        assert_eq!(super::time(Some(&time)), "2026-12-02 21:04 UTC");
        assert_eq!(super::time(None), "—");
    }
}
