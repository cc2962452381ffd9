//! The web console's files as the API server serves them: the page at `/`,
//! the script and the style sheet, each with its content type and
//! `Cache-Control: no-cache`, without a token; the page refers only to
//! those two files, and each of them is served.

mod api_support;

use api_support::Api;

/// The answer to `GET path`, no token.
fn get(api: &Api, path: &str) -> ureq::Response {
    let url = format!("{}{path}", api.server.url);
    match ureq::get(&url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    }
}

/// (status, content type, cache control, body) of `GET path`, no token.
fn fetch(api: &Api, path: &str) -> (u16, String, String, String) {
    let res = get(api, path);
    let status = res.status();
    let ctype = res.header("content-type").unwrap_or("").to_string();
    let cache = res.header("cache-control").unwrap_or("").to_string();
    (status, ctype, cache, res.into_string().expect("a text body"))
}

/// Every `src="…"` and `href="…"` of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["src=\"", "href=\""] {
        for part in html.split(key).skip(1) {
            out.push(part.split('"').next().unwrap_or("").to_string());
        }
    }
    out
}

#[test]
fn the_console_is_served_at_the_root_without_a_token() {
    let api = Api::quiet();
    for (path, ctype, needle) in [
        ("/", "text/html; charset=utf-8", "<form id=\"login-form\">"),
        ("/index.html", "text/html; charset=utf-8", "<form id=\"login-form\">"),
        ("/console.js", "text/javascript; charset=utf-8", "/api/v1"),
        ("/console.css", "text/css; charset=utf-8", "body"),
    ] {
        let (status, got_type, cache, body) = fetch(&api, path);
        assert_eq!(status, 200, "GET {path}: {body}");
        assert_eq!(got_type, ctype, "GET {path}");
        assert_eq!(cache, "no-cache", "GET {path}");
        assert!(body.contains(needle), "GET {path} has {needle:?}");
        // Hardening: only our own files and the API on this origin, no
        // framing, no content sniffing, no referrer to elsewhere.
        let res = get(&api, path);
        let csp = res.header("content-security-policy").unwrap_or("");
        for part in ["default-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"] {
            assert!(csp.contains(part), "GET {path}: {part} in {csp:?}");
        }
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"), "GET {path}");
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"), "GET {path}");
    }
}

#[test]
fn the_page_refers_only_to_our_own_assets_and_each_is_served() {
    let api = Api::quiet();
    let (_, _, _, html) = fetch(&api, "/");
    let refs = references(&html);
    assert_eq!(refs.len(), 2, "one script and one style sheet: {refs:?}");
    for r in refs {
        assert!(r.starts_with('/') && !r.starts_with("//"), "{r} is not one of our own paths");
        let (status, _, _, _) = fetch(&api, &r);
        assert_eq!(status, 200, "{r} is served");
    }
}

#[test]
fn the_api_keeps_its_404_and_needs_its_token() {
    let api = Api::quiet();
    let (status, ctype, _, body) = fetch(&api, "/no-such-page");
    assert_eq!(status, 404, "{body}");
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let (status, _, _, _) = fetch(&api, "/api/v1/calls");
    assert_eq!(status, 401, "the API still wants a token");
}
