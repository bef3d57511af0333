//! Email delivery over SMTP with lettre: one multipart (text + HTML) message per alert.
//!
//! `smtp_url` picks the security: `smtp://host:port` plain, `smtp://host:port?tls=required`
//! STARTTLS (or `tls=opportunistic`), `smtps://host:port` implicit TLS, or the notifier's `tls`
//! key does (see [`crate::config::smtp_security`]); a login is never sent without TLS unless the
//! config says `tls = "none"`. `ca_file` adds a PEM root for private servers. The password is read from `password_file` at send time, so rotating it
//! needs no restart; it is never logged or put into an error.
//!
//! The `Message-ID` is `<{alert.id}@feedwatch>`: a resend after a crash carries the same one.
//! Classification: SMTP 4xx replies and connection trouble are retryable, 5xx replies are not.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Alert, NotifyError, payload};
use crate::config::{EmailConfig, SmtpSecurity as Security, smtp_security};

/// Connecting, and each SMTP command, take at most this long.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// One email notifier, checked and ready.
pub struct EmailSender {
    /// The notifier's name, for error messages.
    name: String,
    /// The SMTP server's host name (also the name its certificate must carry).
    host: String,
    /// The SMTP port (25 for smtp://, 465 for smtps:// when the URL gives none).
    port: u16,
    /// Plain, STARTTLS or implicit TLS.
    security: Security,
    /// The extra CA root from `ca_file`, read once at start (it is not a secret).
    ca: Option<Vec<u8>>,
    /// The sender, parsed once.
    from: Mailbox,
    /// The recipients, parsed once.
    to: Vec<Mailbox>,
    /// The SMTP user; the password comes from `password_file`.
    username: Option<String>,
    /// Read at each send.
    password_file: Option<PathBuf>,
    /// How much of the article, and in which time zone (`article`, `timezone`).
    style: payload::MailStyle,
    /// The transport (and its connection pool) for the current password: rebuilt when the
    /// password file changes, reused otherwise so a burst of alerts shares connections.
    cached: tokio::sync::Mutex<Option<(Option<String>, AsyncSmtpTransport<Tokio1Executor>)>>,
}

impl EmailSender {
    pub fn new(name: &str, cfg: &EmailConfig) -> Result<EmailSender, NotifyError> {
        let bad = |what: String| NotifyError::permanent(format!("notifier {name}: {what}"));
        let url = &cfg.smtp_url;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("smtp_url has no host".into()))?;
        // IPv6 literals come bracketed from the URL; sockets and certificates want them bare.
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let with_login = cfg.username.is_some() || cfg.password_file.is_some();
        let security =
            smtp_security(url, cfg.tls.as_deref(), with_login).map_err(|e| bad(e.message))?;
        let port = url.port().unwrap_or(if security == Security::Implicit {
            465
        } else {
            25
        });
        let ca = match &cfg.ca_file {
            Some(path) => {
                let pem = crate::secret_file::read(path)
                    .map_err(|e| bad(format!("cannot read ca_file {}: {e}", path.display())))?;
                if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                    return Err(bad(format!(
                        "ca_file {} holds no PEM certificate",
                        path.display()
                    )));
                }
                Certificate::from_pem(&pem)
                    .map_err(|e| bad(format!("ca_file {}: {e}", path.display())))?;
                if security == Security::Plain {
                    return Err(bad(
                        "ca_file is set but smtp_url uses no TLS; use smtps:// or ?tls=required"
                            .into(),
                    ));
                }
                Some(pem)
            }
            None => None,
        };
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e| bad(format!("from address \"{}\": {e}", cfg.from)))?;
        let mut to = Vec::new();
        for t in &cfg.to {
            to.push(
                t.parse::<Mailbox>()
                    .map_err(|e| bad(format!("to address \"{t}\": {e}")))?,
            );
        }
        if to.is_empty() {
            return Err(bad("to lists no address".into()));
        }
        match (&cfg.username, &cfg.password_file) {
            (Some(_), None) => return Err(bad("username is set but password_file is not".into())),
            (None, Some(_)) => return Err(bad("password_file is set but username is not".into())),
            _ => {}
        }
        Ok(EmailSender {
            name: name.to_string(),
            host,
            port,
            security,
            ca,
            from,
            to,
            username: cfg.username.clone(),
            password_file: cfg.password_file.clone(),
            style: cfg.style,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    /// Builds the message for `alert`.
    fn message(&self, alert: &Alert) -> Result<Message, NotifyError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(payload::subject(alert))
            .message_id(Some(payload::message_id(&alert.id)));
        for t in &self.to {
            b = b.to(t.clone());
        }
        b.multipart(MultiPart::alternative_plain_html(
            payload::email_text_styled(alert, &self.style),
            payload::email_html_styled(alert, &self.style),
        ))
        .map_err(|e| {
            NotifyError::permanent(format!(
                "notifier {}: cannot build the message: {e}",
                self.name
            ))
        })
    }

    /// Reads the password (trimmed) from `password_file`, if one is configured.
    async fn password(&self) -> Result<Option<String>, NotifyError> {
        let Some(path) = &self.password_file else {
            return Ok(None);
        };
        let raw = crate::secret_file::read_to_string(path).map_err(|e| {
            // A credential file that is missing now may appear (a mount, a rotation): retry.
            NotifyError::retryable(format!(
                "notifier {}: cannot read password_file {}: {e}; fix the file or the path",
                self.name,
                path.display()
            ))
        })?;
        Ok(Some(raw.trim().to_string()))
    }

    fn transport(
        &self,
        password: Option<&str>,
    ) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
        let tls_params = || {
            let mut b = TlsParameters::builder(self.host.clone());
            if let Some(pem) = &self.ca
                && let Ok(cert) = Certificate::from_pem(pem)
            {
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| {
                NotifyError::permanent(format!("notifier {}: cannot set up TLS: {e}", self.name))
            })
        };
        let tls = match self.security {
            Security::Plain => Tls::None,
            Security::Opportunistic => Tls::Opportunistic(tls_params()?),
            Security::StartTls => Tls::Required(tls_params()?),
            Security::Implicit => Tls::Wrapper(tls_params()?),
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.as_str())
            .port(self.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if let (Some(user), Some(pass)) = (&self.username, password) {
            b = b.credentials(Credentials::new(user.clone(), pass.to_string()));
        }
        Ok(b.build())
    }

    /// One delivery attempt of `alert` to every recipient.
    pub async fn send(&self, alert: &Alert) -> Result<(), NotifyError> {
        let message = self.message(alert)?;
        let password = self.password().await?;
        let transport = {
            let mut cached = self.cached.lock().await;
            match cached.as_ref() {
                Some((p, t)) if *p == password => t.clone(),
                _ => {
                    let t = self.transport(password.as_deref())?;
                    *cached = Some((password, t.clone()));
                    t
                }
            }
        };
        match transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => Err(self.classify(e)),
        }
    }

    fn classify(&self, e: lettre::transport::smtp::Error) -> NotifyError {
        let server = format!("{}:{}", self.host, self.port);
        // lettre's Display already includes its direct source; add deeper causes it leaves out.
        let mut why = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let text = s.to_string();
            if !why.contains(&text) {
                why.push_str(": ");
                why.push_str(&text);
            }
            source = s.source();
        }
        let lower = why.to_ascii_lowercase();
        // A rustls failure during connect surfaces as a connection error, not as is_tls().
        let tls_trouble =
            e.is_tls() || lower.contains("certificate") || lower.contains("handshake");
        let (retryable, advice) = if e.is_permanent() {
            let code = e.status().map(|c| c.to_string()).unwrap_or_default();
            if code.starts_with("53") {
                (
                    false,
                    "the server refused the login; check username and password_file",
                )
            } else {
                (
                    false,
                    "the server refused the message; check from, to and the server's rules",
                )
            }
        } else if e.is_transient() {
            (true, "the server asked to try later")
        } else if tls_trouble {
            // Retryable: once the user fixes ca_file or the server's certificate, pending mail goes out.
            (
                true,
                "check the server's certificate, ca_file and the tls setting of smtp_url",
            )
        } else if e.is_timeout() {
            (true, "the server did not answer in time")
        } else if e.is_client() {
            (false, "the message could not be sent as configured")
        } else {
            (true, "is the mail server up and smtp_url right?")
        };
        NotifyError {
            message: format!(
                "notifier {}: mail to {server} failed ({why}); {advice}",
                self.name
            ),
            retryable,
        }
    }
}

#[cfg(test)]
mod tests;
