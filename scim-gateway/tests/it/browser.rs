//! A real headless Chromium, driven over the W3C WebDriver protocol by the system's
//! chromedriver (Debian's `chromium` and `chromium-driver`; `.ci/run` installs them). The few
//! commands the portal's tests need, spoken with the HTTP client the tests have anyway.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The key W3C WebDriver names an element reference by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session; the browser and its driver stop when it is dropped.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

/// Why there is no browser: the test says so loudly, and fails in CI.
pub fn missing() -> Option<String> {
    [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .find(|path| !std::path::Path::new(path).exists())
        .map(|path| {
            format!(
                "{path} is missing: install Debian's chromium and chromium-driver \
                 (apt-get install chromium chromium-driver; .ci/run does)"
            )
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(status) = http.get(format!("{base}/status")).send().await
                && status.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not start");
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "unhandledPromptBehavior": "ignore",
                // Finding an element waits for it to appear (a page still loading after a click).
                "timeouts": {"implicit": 10_000},
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless=new",
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-dev-shm-usage",
                        "--window-size=1280,1000",
                        format!("--user-data-dir={}", profile.path().display()),
                    ],
                },
            }}}))
            .send()
            .await
            .expect("create a browser session")
            .json()
            .await
            .expect("session JSON");
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {created}"))
            .to_owned();
        Browser {
            driver,
            http,
            session: format!("{base}/session/{session}"),
            _profile: profile,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_command(method, path, body).await {
            Ok(value) => value,
            Err(error) => panic!("webdriver {path}: {error}"),
        }
    }

    async fn try_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = self.http.request(method, format!("{}{path}", self.session));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("webdriver command")
            .json()
            .await
            .expect("webdriver JSON");
        match answer["value"]["error"].as_str() {
            Some(error) => Err(format!("{error}: {}", answer["value"]["message"])),
            None => Ok(answer["value"].clone()),
        }
    }

    /// Runs `action` on the element `css` selects, finding it again when the page replaced it
    /// meanwhile (a navigation that was still finishing).
    async fn on_element(&self, css: &str, action: &str, body: Option<Value>) -> Value {
        let method = if body.is_some() {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        for _ in 0..20 {
            let element = self.find(css).await;
            match self
                .try_command(
                    method.clone(),
                    &format!("/element/{element}/{action}"),
                    body.clone(),
                )
                .await
            {
                Ok(value) => return value,
                Err(error) if error.starts_with("stale element reference") => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("webdriver {css} {action}: {error}"),
            }
        }
        panic!("{css} kept going stale")
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn source(&self) -> String {
        self.get("/source")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The element `css` selects (the first), failing the test when there is none.
    pub async fn find(&self, css: &str) -> String {
        let found = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_owned()
    }

    pub async fn click(&self, css: &str) {
        self.on_element(css, "click", Some(json!({}))).await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
        self.on_element(css, "clear", Some(json!({}))).await;
        self.on_element(css, "value", Some(json!({ "text": text })))
            .await;
    }

    pub async fn text(&self, css: &str) -> String {
        self.on_element(css, "text", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn value(&self, css: &str) -> String {
        self.on_element(css, "property/value", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` in the page (WebDriver's, not the page's: the portal's CSP forbids inline
    /// scripts to the page itself) and returns its result.
    pub async fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({"script": script, "args": []}))
            .await
    }

    pub async fn accept_alert(&self) {
        self.post("/alert/accept", json!({})).await;
    }

    /// The text of the page's `h1`.
    pub async fn heading(&self) -> String {
        self.text("h1").await
    }

    /// The text of the element `css` selects once it contains `expected` (a click's navigation
    /// may still be under way when the click returns); after 10 s, whatever it is then.
    pub async fn text_once(&self, css: &str, expected: &str) -> String {
        let mut text = String::new();
        for _ in 0..100 {
            text = self.text(css).await;
            if text.contains(expected) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        text
    }

    /// Waits (reloading) until the page at `url` shows `text`, for at most a minute.
    pub async fn wait_for_text(&self, url: &str, text: &str) {
        for _ in 0..120 {
            self.goto(url).await;
            if self.source().await.contains(text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("{url} never showed {text:?}:\n{}", self.source().await);
    }

    /// Saves a screenshot of the whole page as `path` (PNG).
    pub async fn screenshot(&self, path: &std::path::Path) {
        let height = self
            .execute("return document.documentElement.scrollHeight")
            .await
            .as_u64()
            .unwrap_or(1000)
            .clamp(600, 4000);
        self.post(
            "/window/rect",
            json!({"width": 1280, "height": height + 140}),
        )
        .await;
        let png = self.get("/screenshot").await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("screenshot PNG");
        std::fs::write(path, bytes).expect("write screenshot");
        self.post("/window/rect", json!({"width": 1280, "height": 1000}))
            .await;
    }
}

impl Browser {
    /// Ends the session, which closes the browser.
    pub async fn quit(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the driver ends the browser it started.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
