//! The web console: one HTML page, one script and one style sheet, served
//! at `/` by the API's server (docs/console.md says what it shows).
//!
//! The files are compiled into the binary (`include_str!`), so a box needs
//! nothing beside `ctiboxd`. They are public: the page holds no data, and
//! everything it shows comes from the API (`/api/v1`) with the bearer
//! token the user gets by logging in on the page. Every answer says
//! `Cache-Control: no-cache`, so a browser picks up a new daemon's console
//! at once.
//!
//! The page refers to nothing but these three files (no CDN, no external
//! fonts): a call center's LAN need not reach the Internet.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::ApiState;

/// The page.
pub const INDEX_HTML: &str = include_str!("index.html");
/// The script: login, the event stream, the agent and supervisor views.
pub const CONSOLE_JS: &str = include_str!("console.js");
/// The style sheet.
pub const CONSOLE_CSS: &str = include_str!("console.css");

/// Where the page, the script and the style sheet are served.
pub const PAGE_PATH: &str = "/";
pub const SCRIPT_PATH: &str = "/console.js";
pub const STYLE_PATH: &str = "/console.css";

/// What the browser may load and run for the console: only our own files
/// and the API on the same origin (its event stream included), no inline
/// script or style, no framing by another site (clickjacking), no base or
/// form target elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
}

async fn page() -> impl IntoResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn script() -> impl IntoResponse {
    asset("text/javascript; charset=utf-8", CONSOLE_JS)
}

async fn style() -> impl IntoResponse {
    asset("text/css; charset=utf-8", CONSOLE_CSS)
}

/// The console's routes (no authentication: see the module doc).
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route(PAGE_PATH, get(page))
        .route("/index.html", get(page))
        .route(SCRIPT_PATH, get(script))
        .route(STYLE_PATH, get(style))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `src="…"` and `href="…"` of the page.
    fn references(html: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for key in ["src=\"", "href=\""] {
            let mut rest = html;
            while let Some(at) = rest.find(key) {
                rest = &rest[at + key.len()..];
                let end = rest.find('"').unwrap_or(rest.len());
                out.push(&rest[..end]);
            }
        }
        out
    }

    #[test]
    fn the_page_refers_only_to_our_own_script_and_style() {
        let refs = references(INDEX_HTML);
        assert!(refs.contains(&SCRIPT_PATH), "{refs:?}");
        assert!(refs.contains(&STYLE_PATH), "{refs:?}");
        for r in &refs {
            assert!([SCRIPT_PATH, STYLE_PATH].contains(r), "the page refers to {r}, not one of our assets");
        }
        for text in [INDEX_HTML, CONSOLE_JS, CONSOLE_CSS] {
            assert!(
                !text.contains("http://") && !text.contains("https://") && !text.contains("//cdn"),
                "an external URL"
            );
            assert!(!text.contains("@import"), "the style sheet imports nothing");
        }
    }

    #[test]
    fn the_script_talks_only_to_the_api() {
        assert!(CONSOLE_JS.contains("/api/v1"));
        assert!(CONSOLE_JS.contains("sessionStorage"), "the token is kept in sessionStorage");
        assert!(!CONSOLE_JS.contains("localStorage"), "the token never outlives the tab");
    }
}
