//! Shared by the api_*.rs tests: a test server on a temporary database and a
//! small blocking HTTP client.

#![allow(dead_code)]

use ctibox_daemon::api::testing::{TEST_USERS, TestServer, TestServerOptions};
use serde_json::Value;

pub struct Api {
    pub server: TestServer,
    _dir: tempfile::TempDir,
}

impl Api {
    pub fn start() -> Api {
        Api::start_with(TestServerOptions::default())
    }

    pub fn start_with(options: TestServerOptions) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = TestServer::start_with(dir.path(), options).expect("test server");
        Api { server, _dir: dir }
    }

    /// Logs in; panics unless it works.
    pub fn login(&self, user: &str) -> String {
        let pw = TEST_USERS.iter().find(|u| u.0 == user).map(|u| u.1).expect("a test user");
        let (status, body) =
            self.req("POST", "/login", None, Some(&format!(r#"{{"username":"{user}","password":"{pw}"}}"#)));
        assert_eq!(status, 200, "login {user}: {body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// One request: (status, JSON body or Null).
    pub fn req(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> (u16, Value) {
        self.raw(method, path, token, body.map(|b| ("application/json", b)))
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.req("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &str) -> (u16, Value) {
        self.req("POST", path, Some(token), Some(body))
    }

    pub fn raw(&self, method: &str, path: &str, token: Option<&str>, body: Option<(&str, &str)>) -> (u16, Value) {
        let mut r = ureq::request(method, &self.server.api(path));
        if let Some(t) = token {
            r = r.set("Authorization", &format!("Bearer {t}"));
        }
        let result = match body {
            Some((ctype, b)) => r.set("Content-Type", ctype).send_string(b),
            None => r.call(),
        };
        let resp = match result {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap_or_default();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text:?}"))
        };
        (status, value)
    }
}
