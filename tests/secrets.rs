//! Secrets and the addresses they go to, through the real binary and real servers on loopback:
//! no secret in any log at any level (SMTP login, webhook secret and tokens, passwords in feed
//! URLs), no credentials over plain SMTP unless the config says so, no detour through proxy
//! variables, and webhook secrets read as the Standard Webhooks libraries read them (checked with
//! the reference verifier from the Python package registry).

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use support::*;

const PYTHON: &str = "/usr/bin/python3";

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/notify")
        .join(name)
}

/// A Python helper (smtp_sink.py or webhook_verify.py) that prints its port on its first
/// line; killed when dropped.
struct Helper {
    child: Child,
    port: u16,
}

impl Helper {
    /// Starts `script` and waits (bounded, by the blocking read below ending with the
    /// process) until it reports its port; `None` when it exits first.
    fn start(script: &str, args: &[&std::ffi::OsStr]) -> Option<Helper> {
        let mut child = Command::new(PYTHON)
            .arg(fixture_path(script))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot run /usr/bin/python3");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("{script} did not report its port within 20 s"));
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        };
        wait_for_port(port);
        Some(Helper { child, port })
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A config with one feed (never fetched here) and the given `[[notifier]]` body.
fn write_config(dir: &Path, notifier: &str) -> PathBuf {
    let path = dir.join("feedwatch.toml");
    std::fs::write(
        &path,
        format!(
            "[daemon]\ndatabase = \"{db}\"\nallow_private_addresses = true\n\n\
             [[feed]]\nname = \"F\"\nurl = \"https://feeds.example.org/feed.xml\"\n\n\
             [[notifier]]\nname = \"out\"\n{notifier}\n",
            db = dir.join("feedwatch.db").display()
        ),
    )
    .unwrap();
    path
}

/// Runs the real binary with extra environment variables, from a blocking thread.
async fn feedwatch_env(config: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let config = config.to_path_buf();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_feedwatch"));
        cmd.arg("--config").arg(&config).args(&args);
        for var in [
            "FEEDWATCH_CONFIG",
            "RUST_LOG",
            "NO_PROXY",
            "no_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "HTTPS_PROXY",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env).output().unwrap()
    })
    .await
    .unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Every form in which an SMTP login could show `user` and `password`: plain, AUTH PLAIN
/// (`\0user\0password`, with or without an authorisation id) and AUTH LOGIN (each alone).
fn smtp_secret_forms(user: &str, password: &str) -> Vec<String> {
    let mut forms = vec![password.to_string(), b64(password.as_bytes())];
    for authzid in ["", user] {
        forms.push(b64(format!("{authzid}\0{user}\0{password}").as_bytes()));
    }
    // Without its padding too: a log could cut it, and the unpadded prefix is what matters.
    let more: Vec<String> = forms
        .iter()
        .map(|f| f.trim_end_matches('=').to_string())
        .collect();
    forms.extend(more);
    forms
}

/// Fails when any of `forms` appears in the output, naming the form and showing the line.
fn assert_absent(what: &str, out: &Output, forms: &[String]) {
    let all = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
    for form in forms {
        if let Some(line) = all.lines().find(|l| l.contains(form.as_str())) {
            panic!("{what} appears in the output as {form:?}:\n{line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_at_trace_level_never_logs_the_smtp_password() {
    let dir = tempfile::tempdir().unwrap();
    let (user, password) = ("feedwatch", "Tr4ce-Leak-Pa55word");
    let mail = dir.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let auth = format!("{user}:{password}");
    let (cert, key) = (
        fixture_path("test-server.pem"),
        fixture_path("test-server.key"),
    );
    let sink = Helper::start(
        "smtp_sink.py",
        &[
            mail.as_os_str(),
            "--tls".as_ref(),
            "starttls".as_ref(),
            "--cert".as_ref(),
            cert.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
            "--auth".as_ref(),
            auth.as_ref(),
        ],
    )
    .expect("smtp_sink.py did not start: install python3-aiosmtpd");
    let pw = dir.path().join("smtp-password");
    std::fs::write(&pw, format!("{password}\n")).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "type = \"email\"\nsmtp_url = \"smtp://localhost:{port}?tls=required\"\n\
             ca_file = \"{ca}\"\nfrom = \"feedwatch@example.org\"\nto = [\"me@example.org\"]\n\
             username = \"{user}\"\npassword_file = \"{pw}\"",
            port = sink.port,
            ca = fixture_path("test-ca.pem").display(),
            pw = pw.display()
        ),
    );

    let out = feedwatch_env(
        &config,
        &["notify", "test", "out"],
        &[("RUST_LOG", "trace".into())],
    )
    .await;

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        std::fs::read_dir(&mail).unwrap().count() > 0,
        "the mail must really have been sent, with the login"
    );
    assert!(
        text(&out.stderr).contains("TRACE") || text(&out.stderr).contains("DEBUG"),
        "RUST_LOG=trace must really log something, or this test proves nothing:\n{}",
        text(&out.stderr)
    );
    assert_absent(
        "the SMTP password",
        &out,
        &smtp_secret_forms(user, password),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_at_trace_level_never_logs_the_webhook_secret_or_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let hook = webhook_receiver(vec![200]).await;
    let key = b"webhook-signing-key-never-logged";
    let secret = format!("whsec_{}", b64(key));
    let secret_file = dir.path().join("hook.secret");
    std::fs::write(&secret_file, &secret).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "type = \"webhook\"\nurl = \"{url}/T0KEN-IN-PATH?key=T0KEN-IN-QUERY\"\n\
             secret_file = \"{sf}\"\nheaders = {{ Authorization = \"Bearer T0KEN-IN-HEADER\" }}",
            url = hook.url,
            sf = secret_file.display()
        ),
    );

    let out = feedwatch_env(
        &config,
        &["notify", "test", "out"],
        &[("RUST_LOG", "trace".into())],
    )
    .await;

    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(hook.received.lock().unwrap().len(), 1);
    assert!(
        text(&out.stderr).contains("TRACE") || text(&out.stderr).contains("DEBUG"),
        "RUST_LOG=trace must really log something:\n{}",
        text(&out.stderr)
    );
    assert_absent(
        "a webhook secret or token",
        &out,
        &[
            secret.clone(),
            b64(key),
            String::from_utf8_lossy(key).into_owned(),
            "T0KEN-IN-PATH".into(),
            "T0KEN-IN-QUERY".into(),
            "T0KEN-IN-HEADER".into(),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_a_feed_url_is_never_logged_or_printed() {
    let dir = tempfile::tempdir().unwrap();
    let (base, site) = http_server().await;
    site.route(
        "/private.xml",
        Route::Status {
            status: 500,
            retry_after: None,
        },
    );
    let with_login = base.replace("http://", "http://reader:F33d-Pa55word@");
    let path = dir.path().join("feedwatch.toml");
    std::fs::write(
        &path,
        format!(
            "[daemon]\ndatabase = \"{db}\"\nallow_private_addresses = true\n\n\
             [[feed]]\nurl = \"{with_login}/private.xml\"\n\n\
             [[feed]]\nname = \"named\"\nurl = \"{with_login}/private.xml?named\"\n",
            db = dir.path().join("feedwatch.db").display()
        ),
    )
    .unwrap();

    let out = feedwatch_env(&path, &["once"], &[("RUST_LOG", "trace".into())]).await;

    assert_eq!(
        site.requests_to("/private.xml").len(),
        2,
        "both feeds were polled: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("poll failed"),
        "the failure is logged: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("reader:***@"),
        "{}",
        text(&out.stdout)
    );
    assert_absent(
        "the feed's password",
        &out,
        &[
            "F33d-Pa55word".into(),
            b64(b"reader:F33d-Pa55word"),
            b64(b"reader:F33d-Pa55word")
                .trim_end_matches('=')
                .to_string(),
        ],
    );
}

/// The line of the first line of `config` containing `needle`, 1-based.
fn line_of(config: &Path, needle: &str) -> usize {
    std::fs::read_to_string(config)
        .unwrap()
        .lines()
        .position(|l| l.contains(needle))
        .unwrap()
        + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_refuses_credentials_over_plain_smtp_unless_tls_none_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("smtp-password");
    std::fs::write(&pw, "relay-password").unwrap();
    let mail = |url: &str, extra: &str| {
        format!(
            "type = \"email\"\nsmtp_url = \"{url}\"\nfrom = \"feedwatch@example.org\"\n\
             to = [\"me@example.org\"]\nusername = \"feedwatch\"\npassword_file = \"{}\"\n{extra}",
            pw.display()
        )
    };

    let config = write_config(dir.path(), &mail("smtp://127.0.0.1:2525", ""));
    let out = feedwatch(&config, &["check"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    let at = format!(
        "feedwatch.toml:{}: notifier[0].smtp_url",
        line_of(&config, "smtp_url")
    );
    assert!(err.contains(&at), "file, line and field ({at}): {err}");
    assert!(
        err.contains("without TLS") && err.contains("tls = \"none\""),
        "says why and how to fix it: {err}"
    );
    assert!(
        err.contains("tls=required") && err.contains("smtps://"),
        "{err}"
    );
    // The sender refuses it too: `notify test` does not send the password in the clear.
    let out = feedwatch(&config, &["notify", "test", "out"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));

    // Said explicitly, for a trusted local relay: accepted, in either spelling.
    for (url, extra) in [
        ("smtp://127.0.0.1:2525", "tls = \"none\""),
        ("smtp://127.0.0.1:2525?tls=none", ""),
    ] {
        let config = write_config(dir.path(), &mail(url, extra));
        let out = feedwatch(&config, &["check"]).await;
        assert!(out.status.success(), "{url} {extra}: {}", text(&out.stderr));
    }
    // With TLS, and without credentials, nothing to say.
    for (url, extra) in [
        ("smtps://mail.example.org", ""),
        ("smtp://mail.example.org:587?tls=required", ""),
        ("smtp://mail.example.org:587", "tls = \"required\""),
    ] {
        let config = write_config(dir.path(), &mail(url, extra));
        let out = feedwatch(&config, &["check"]).await;
        assert!(out.status.success(), "{url} {extra}: {}", text(&out.stderr));
    }
    let config = write_config(
        dir.path(),
        "type = \"email\"\nsmtp_url = \"smtp://127.0.0.1:2525\"\nfrom = \"feedwatch@example.org\"\nto = [\"me@example.org\"]",
    );
    assert!(feedwatch(&config, &["check"]).await.status.success());

    // A tls key that contradicts the URL, or is not a known mode, is a mistake.
    for (url, extra, says) in [
        ("smtps://mail.example.org", "tls = \"none\"", "smtp_url"),
        (
            "smtp://mail.example.org?tls=required",
            "tls = \"none\"",
            "smtp_url",
        ),
        (
            "smtp://mail.example.org",
            "tls = \"sometimes\"",
            "sometimes",
        ),
    ] {
        let config = write_config(dir.path(), &mail(url, extra));
        let out = feedwatch(&config, &["check"]).await;
        assert_eq!(out.status.code(), Some(1), "{url} {extra}");
        let err = text(&out.stderr);
        assert!(
            err.contains("notifier[0].tls") && err.contains(says),
            "{err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_none_sends_the_login_to_a_trusted_local_relay() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let sink = Helper::start(
        "smtp_sink.py",
        &[
            mail.as_os_str(),
            "--auth".as_ref(),
            "relay:relay-pass".as_ref(),
        ],
    )
    .expect("smtp_sink.py did not start: install python3-aiosmtpd");
    let pw = dir.path().join("smtp-password");
    std::fs::write(&pw, "relay-pass").unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "type = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\ntls = \"none\"\n\
             from = \"feedwatch@example.org\"\nto = [\"me@example.org\"]\n\
             username = \"relay\"\npassword_file = \"{}\"",
            sink.port,
            pw.display()
        ),
    );
    let out = feedwatch(&config, &["notify", "test", "out"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(mail.join("1.json")).unwrap()).unwrap();
    assert_eq!(summary["login"], "relay");
    assert_eq!(summary["tls"], false);
}

/// A "proxy" on loopback that counts the connections it gets and answers each with a 502, so
/// a client that goes through it fails loudly as well as being counted.
async fn counting_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = tokio::time::timeout(Duration::from_secs(2), sock.read(&mut buf)).await;
                let _ = sock
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (format!("http://{addr}"), count)
}

fn proxy_env(proxy: &str) -> Vec<(&'static str, String)> {
    [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .into_iter()
    .map(|k| (k, proxy.to_string()))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_and_smtp_ignore_proxy_variables() {
    let dir = tempfile::tempdir().unwrap();
    let (proxy, proxied) = counting_proxy().await;

    let hook = webhook_receiver(vec![200]).await;
    let config = write_config(
        dir.path(),
        &format!("type = \"webhook\"\nurl = \"{}\"", hook.url),
    );
    let out = feedwatch_env(&config, &["notify", "test", "out"], &proxy_env(&proxy)).await;
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the webhook went through the proxy: {}",
        text(&out.stderr)
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        hook.received.lock().unwrap().len(),
        1,
        "straight to the receiver"
    );

    let mail = dir.path().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    let sink = Helper::start("smtp_sink.py", &[mail.as_os_str()])
        .expect("smtp_sink.py did not start: install python3-aiosmtpd");
    let config = write_config(
        dir.path(),
        &format!(
            "type = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{}\"\n\
             from = \"feedwatch@example.org\"\nto = [\"me@example.org\"]",
            sink.port
        ),
    );
    let out = feedwatch_env(&config, &["notify", "test", "out"], &proxy_env(&proxy)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the mail went through the proxy"
    );
    assert!(mail.join("1.json").exists(), "straight to the mail server");
}

/// Whether the reference verifier can be imported. Under CI (which installs it, see
/// `.ci/run`) its absence fails the test; on a developer's machine the test is skipped loudly.
fn standardwebhooks_available() -> bool {
    let ok = Command::new(PYTHON)
        .args(["-c", "import standardwebhooks"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        let how = "/usr/bin/python3 -m pip install --break-system-packages standardwebhooks";
        assert!(
            std::env::var_os("CI").is_none(),
            "the reference Standard Webhooks verifier is missing under CI; .ci/run installs it ({how})"
        );
        eprintln!(
            "\n\n*** SKIPPED: the reference Standard Webhooks verifier (Python package \
             standardwebhooks) cannot be imported by {PYTHON}; install it with `{how}` ***\n\n"
        );
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_verifier_accepts_signatures_for_every_secret_form() {
    if !standardwebhooks_available() {
        return;
    }
    let key: &[u8] = b"\x8f\x01key bytes that are not text\xff\x00!";
    assert!(
        b64(key).ends_with('='),
        "the unpadded case needs padding to leave out"
    );
    let key2: &[u8] = b"a second key, 32 bytes long....!";
    let forms = [
        ("whsec_ padded", format!("whsec_{}", b64(key))),
        (
            "whsec_ unpadded",
            format!("whsec_{}", b64(key).trim_end_matches('=')),
        ),
        ("bare base64", b64(key2)),
    ];
    for (what, secret) in forms {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("hook.secret");
        std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
        let seen = dir.path().join("seen");
        std::fs::create_dir_all(&seen).unwrap();
        let receiver = Helper::start(
            "webhook_verify.py",
            &[secret_file.as_os_str(), seen.as_os_str()],
        )
        .expect("webhook_verify.py did not start");
        let config = write_config(
            dir.path(),
            &format!(
                "type = \"webhook\"\nurl = \"http://127.0.0.1:{}/hook\"\nsecret_file = \"{}\"",
                receiver.port,
                secret_file.display()
            ),
        );
        let check = feedwatch(&config, &["check"]).await;
        assert!(check.status.success(), "{what}: {}", text(&check.stderr));
        let out = feedwatch(&config, &["notify", "test", "out"]).await;
        let got: serde_json::Value = std::fs::read(seen.join("1.json"))
            .map(|b| serde_json::from_slice(&b).unwrap())
            .unwrap_or_else(|_| panic!("{what}: the receiver got nothing: {}", text(&out.stderr)));
        assert_eq!(got["verified"], true, "{what} ({secret}): {got}");
        assert_eq!(got["type"], "test");
        assert!(out.status.success(), "{what}: {}", text(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_when_a_webhook_secret_is_not_base64() {
    let dir = tempfile::tempdir().unwrap();
    for (secret, says) in [
        ("correct horse battery staple", "base64"),
        ("whsec_not*base64!", "whsec_"),
        ("whsec_", "empty"),
    ] {
        let secret_file = dir.path().join("hook.secret");
        std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
        let config = write_config(
            dir.path(),
            &format!(
                "type = \"webhook\"\nurl = \"https://hooks.example.org/in\"\nsecret_file = \"{}\"",
                secret_file.display()
            ),
        );
        let out = feedwatch(&config, &["check"]).await;
        assert_eq!(
            out.status.code(),
            Some(1),
            "{secret}: {}",
            text(&out.stdout)
        );
        let err = text(&out.stderr);
        let at = format!(
            "feedwatch.toml:{}: notifier[0].secret_file",
            line_of(&config, "secret_file")
        );
        assert!(err.contains(&at), "{secret}: {at}: {err}");
        assert!(err.contains(says), "{secret}: {err}");
        assert!(
            !err.contains(secret) || secret == "whsec_",
            "never shows the secret: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_that_never_ends_is_a_clear_check_error_not_all_memory() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "type = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\nsecret_file = \"/dev/zero\"\n",
    );
    let out = feedwatch(&config, &["check"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("notifier[0].secret_file") && err.contains("larger than"),
        "names the field and what is wrong: {err}"
    );
}
