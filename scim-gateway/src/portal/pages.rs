//! The setup pages: SCIM provisioning (the switch, the URL to paste, the keys), verified
//! domains, and the setup guide for Okta and Entra ID.

use std::fmt::Write as _;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use identity_proto::fields::tenant as tenant_fields;
use identity_proto::v1 as pb;

use super::html::{self, Alert, Chrome, Section, csrf_field, escape};
use super::session::{Session, SignedForm};
use super::{Portal, PortalError, PortalResult, html_response, see_other};

/// Keys listed at most (SCIM keys of one team: a handful).
const MAX_KEYS_LISTED: i32 = 200;

/// What a finished action says on the page it returns to (`?done=…`): fixed texts, so that a
/// crafted link cannot put words on the page.
fn done_alert(query: Option<&str>) -> Option<Alert> {
    let done = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "done")
        .map(|(_, value)| value.into_owned())?;
    let text = match done.as_str() {
        "scim-on" => "SCIM provisioning is on: your identity provider's keys work.",
        "scim-off" => {
            "SCIM provisioning is off: your identity provider's calls are refused until you turn \
             it on again. Users, groups and keys are kept."
        }
        "key-revoked" => "The key is revoked: calls made with it are refused from now on.",
        "domain-added" => "The domain is added.",
        "domain-removed" => "The domain is removed.",
        _ => return None,
    };
    Some(Alert::Done(text.to_owned()))
}

impl Session {
    fn chrome(&self) -> Chrome<'_> {
        Chrome {
            tenant_name: &self.tenant.name,
            admin_name: self.admin_name(),
            csrf: &self.csrf,
        }
    }

    /// A page of `section` for this session.
    pub(crate) fn page(
        &self,
        status: StatusCode,
        section: Section,
        alert: Option<&Alert>,
        body: &str,
    ) -> Response {
        html_response(
            status,
            html::page(
                Some(section),
                section.title(),
                Some(&self.chrome()),
                alert,
                body,
            ),
        )
    }

    /// The team's SCIM keys (the only keys an admin sees).
    pub(crate) async fn scim_keys(&self) -> Result<Vec<pb::ApiKey>, PortalError> {
        Ok(self
            .call
            .tenants()
            .list_api_keys(self.call.request(pb::ListApiKeysRequest {
                page: Some(pb::PageRequest {
                    page_size: MAX_KEYS_LISTED,
                    ..Default::default()
                }),
                ..Default::default()
            }))
            .await?
            .into_inner()
            .keys)
    }
}

/// After a refused action: the page again, with the refusal above it, when the admin can act
/// on it; otherwise the error page.
async fn refused<F, Fut>(error: PortalError, render: F) -> PortalResult
where
    F: FnOnce(StatusCode, Alert) -> Fut,
    Fut: Future<Output = PortalResult>,
{
    match error.as_alert() {
        Some((status, alert)) => render(status, alert).await,
        None => Err(error),
    }
}

/// A key's state as a badge: ACTIVE, RETIRING, REVOKED or EXPIRED.
pub(crate) fn key_badge(key: &pb::ApiKey) -> String {
    let state = match key.state() {
        pb::ApiKeyState::Active => "ACTIVE",
        pb::ApiKeyState::Retiring => "RETIRING",
        pb::ApiKeyState::Revoked => "REVOKED",
        pb::ApiKeyState::Expired => "EXPIRED",
        pb::ApiKeyState::Unspecified => "UNKNOWN",
    };
    format!(
        r#"<span class="badge {}">{state}</span>"#,
        state.to_ascii_lowercase()
    )
}

/// A key as the admin recognises it: its name and the first characters of its secret.
pub(crate) fn key_label(key: &pb::ApiKey) -> String {
    if key.name.is_empty() {
        format!("{}…", key.prefix)
    } else {
        format!("{} ({}…)", key.name, key.prefix)
    }
}

/// A copyable, read-only value with a label.
fn copyable(id: &str, label: &str, value: &str) -> String {
    format!(
        r#"<div class="copyable"><label for="{id}">{label}</label><input id="{id}" readonly value="{value}"><button type="button" class="copy" data-copy="{id}">Copy</button></div>"#,
        label = escape(label),
        value = escape(value),
    )
}

/// The provisioning page after a refused action, with the refusal above it.
async fn provisioning_refused(
    portal: &Portal,
    session: &Session,
    status: tonic::Status,
) -> PortalResult {
    refused(status.into(), |code, alert| {
        render_provisioning(portal, session, code, Some(alert), None)
    })
    .await
}

/// A newly issued key's secret, shown in the answer to the form that made it, and never again.
struct NewSecret {
    key: pb::ApiKey,
    secret: String,
}

/// The provisioning page after a key was made (generated or rotated), its secret shown once.
async fn show_new_key(
    portal: &Portal,
    session: &Session,
    done: String,
    key: Option<pb::ApiKey>,
    secret: String,
) -> PortalResult {
    let new_secret = key.map(|key| NewSecret { key, secret });
    render_provisioning(
        portal,
        session,
        StatusCode::OK,
        Some(Alert::Done(done)),
        new_secret,
    )
    .await
}

async fn render_provisioning(
    portal: &Portal,
    session: &Session,
    status: StatusCode,
    alert: Option<Alert>,
    new_secret: Option<NewSecret>,
) -> PortalResult {
    let keys = session.scim_keys().await?;
    let base_url = portal.identity.base_url();
    let csrf = csrf_field(&session.csrf);
    let mut body = String::new();
    if let Some(NewSecret { key, secret }) = &new_secret {
        let _ = write!(
            body,
            r#"<section class="secret" aria-labelledby="new-key"><h2 id="new-key">Your new key: copy it now</h2>
<p>This is the only time the key <strong>{}</strong> is shown. Paste it into your identity provider (Okta: <em>API Token</em>; Entra ID: <em>Secret Token</em>). If you lose it, generate another.</p>
{}
</section>
"#,
            escape(&key_label(key)),
            copyable("new-secret", "SCIM API key", secret),
        );
    }
    let on = session.tenant.scim_enabled;
    let _ = write!(
        body,
        r#"<section aria-labelledby="switch"><h2 id="switch">Provisioning</h2>
<p class="state">SCIM provisioning is <strong>{}</strong>.</p>
<form method="post" action="/portal/">{csrf}<input type="hidden" name="enabled" value="{}"><button type="submit">{}</button></form>
<p class="help">While it is off, every call your identity provider makes is refused; users, groups and keys are kept.</p>
</section>
<section aria-labelledby="connect"><h2 id="connect">Connection details</h2>
<p>Paste these into your identity provider. See the <a href="/portal/guide">setup guide</a> for every step.</p>
{}
<dl class="facts"><dt>Authentication</dt><dd>HTTP header: <code>Authorization: Bearer &lt;SCIM API key&gt;</code> (Okta: <em>HTTP Header</em>)</dd>
<dt>Unique identifier field for users</dt><dd><code>userName</code></dd></dl>
</section>
"#,
        if on { "on" } else { "off" },
        if on { "false" } else { "true" },
        if on {
            "Turn SCIM provisioning off"
        } else {
            "Turn SCIM provisioning on"
        },
        copyable(
            "base-url",
            "SCIM base URL (Okta: Base URL; Entra ID: Tenant URL)",
            base_url
        ),
    );
    body.push_str(
        r#"<section aria-labelledby="keys"><h2 id="keys">SCIM API keys</h2>
"#,
    );
    if keys.is_empty() {
        body.push_str("<p>No keys yet: generate one below.</p>\n");
    } else {
        body.push_str(
            r#"<table><thead><tr><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Last used</th><th scope="col">Actions</th></tr></thead><tbody>
"#,
        );
        for key in &keys {
            let label = escape(&key_label(key));
            let id = escape(&key.id);
            let usable = matches!(
                key.state(),
                pb::ApiKeyState::Active | pb::ApiKeyState::Retiring
            );
            let actions = if usable {
                format!(
                    r#"<form class="inline" method="post" action="/portal/keys/{id}/rotate">{csrf}<label for="grace-{id}">Old key works</label> <select id="grace-{id}" name="grace"><option value="0">not at all</option><option value="3600">1 more hour</option><option value="86400" selected>1 more day</option><option value="604800">7 more days</option></select> <button type="submit" aria-label="Rotate {label}">Rotate</button></form>
<form class="inline" method="post" action="/portal/keys/{id}/revoke">{csrf}<button type="submit" class="danger" data-confirm="Revoke {label}? Calls made with it are refused at once." aria-label="Revoke {label}">Revoke</button></form>"#
                )
            } else {
                "—".to_owned()
            };
            let _ = writeln!(
                body,
                r#"<tr><th scope="row">{label}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{actions}</td></tr>"#,
                key_badge(key),
                html::time(key.create_time.as_ref()),
                html::time(key.expire_time.as_ref()),
                html::time(key.last_use_time.as_ref()),
            );
        }
        body.push_str("</tbody></table>\n");
    }
    let _ = write!(
        body,
        r#"<h3>Generate a key</h3>
<form method="post" action="/portal/keys">{csrf}
<p><label for="key-name">Name</label> <input id="key-name" name="name" maxlength="200" value="Okta" required aria-describedby="key-name-help"> <span id="key-name-help" class="help">Where the key is used, e.g. “Okta” or “Entra ID”.</span></p>
<p><label for="key-expiry">Expires</label> <select id="key-expiry" name="expires_in_days"><option value="0">never</option><option value="30">in 30 days</option><option value="90">in 90 days</option><option value="365">in a year</option></select></p>
<p><button type="submit">Generate key</button></p>
</form>
<p class="help">Rotating a key issues a new one and lets the old one work for the time you choose (it shows as RETIRING), so that you can update your identity provider without a gap.</p>
</section>
"#
    );
    Ok(session.page(status, Section::Provisioning, alert.as_ref(), &body))
}

/// `GET /portal/`.
pub(crate) async fn provisioning(
    State(portal): State<Portal>,
    RawQuery(query): RawQuery,
    session: Session,
) -> PortalResult {
    render_provisioning(
        &portal,
        &session,
        StatusCode::OK,
        done_alert(query.as_deref()),
        None,
    )
    .await
}

/// `POST /portal/` (`enabled=true|false`): the team's SCIM switch.
pub(crate) async fn switch_scim(
    State(portal): State<Portal>,
    SignedForm { session, form }: SignedForm,
) -> PortalResult {
    let enabled = match form.get("enabled") {
        "true" => true,
        "false" => false,
        _ => return Err(PortalError::Invalid("enabled is true or false".into())),
    };
    let update = session
        .call
        .tenants()
        .update_tenant(session.call.request(pb::UpdateTenantRequest {
            tenant: Some(pb::Tenant {
                id: session.tenant.id.clone(),
                scim_enabled: enabled,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec![tenant_fields::SCIM_ENABLED.to_owned()],
            }),
            expected_version: None,
        }))
        .await;
    match update {
        Ok(_) => Ok(see_other(if enabled {
            "/portal/?done=scim-on"
        } else {
            "/portal/?done=scim-off"
        })),
        Err(status) => provisioning_refused(&portal, &session, status).await,
    }
}

/// `POST /portal/keys` (`name`, `expires_in_days`): a new SCIM key, its secret shown once.
pub(crate) async fn generate_key(
    State(portal): State<Portal>,
    SignedForm { session, form }: SignedForm,
) -> PortalResult {
    let days: u32 = form
        .get("expires_in_days")
        .parse()
        .ok()
        .filter(|days| *days <= 3650)
        .ok_or_else(|| PortalError::Invalid("choose when the key expires".into()))?;
    let expire_time = (days > 0).then(|| {
        prost_types::Timestamp::from(
            std::time::SystemTime::now()
                + std::time::Duration::from_secs(u64::from(days) * 24 * 3600),
        )
    });
    let issued = session
        .call
        .tenants()
        .issue_api_key(session.call.request(pb::IssueApiKeyRequest {
            tenant_id: session.tenant.id.clone(),
            kind: pb::ApiKeyKind::Scim.into(),
            name: form.get("name").to_owned(),
            expire_time,
            ..Default::default()
        }))
        .await;
    match issued {
        Ok(issued) => {
            let issued = issued.into_inner();
            show_new_key(
                &portal,
                &session,
                "A new SCIM key is generated.".into(),
                issued.key,
                issued.secret,
            )
            .await
        }
        Err(status) => provisioning_refused(&portal, &session, status).await,
    }
}

/// `POST /portal/keys/{id}/rotate` (`grace` in seconds): the new key's secret shown once.
pub(crate) async fn rotate_key(
    State(portal): State<Portal>,
    Path(id): Path<String>,
    SignedForm { session, form }: SignedForm,
) -> PortalResult {
    let grace: i64 = form
        .get("grace")
        .parse()
        .ok()
        .filter(|seconds| (0..=30 * 24 * 3600).contains(seconds))
        .ok_or_else(|| PortalError::Invalid("choose how long the old key works".into()))?;
    let rotated = session
        .call
        .tenants()
        .rotate_api_key(session.call.request(pb::RotateApiKeyRequest {
            id,
            grace_period: Some(prost_types::Duration {
                seconds: grace,
                nanos: 0,
            }),
        }))
        .await;
    match rotated {
        Ok(rotated) => {
            let rotated = rotated.into_inner();
            let done = match rotated
                .retired
                .as_ref()
                .and_then(|old| old.expire_time.as_ref())
            {
                Some(until) if grace > 0 => format!(
                    "The key is rotated: the old key works until {}.",
                    html::time(Some(until))
                ),
                _ => "The key is rotated: the old key is revoked.".to_owned(),
            };
            show_new_key(&portal, &session, done, rotated.key, rotated.secret).await
        }
        Err(status) => provisioning_refused(&portal, &session, status).await,
    }
}

/// `POST /portal/keys/{id}/revoke`.
pub(crate) async fn revoke_key(
    State(portal): State<Portal>,
    Path(id): Path<String>,
    SignedForm { session, .. }: SignedForm,
) -> PortalResult {
    let revoked = session
        .call
        .tenants()
        .revoke_api_key(session.call.request(pb::RevokeApiKeyRequest { id }))
        .await;
    match revoked {
        Ok(_) => Ok(see_other("/portal/?done=key-revoked")),
        Err(status) => provisioning_refused(&portal, &session, status).await,
    }
}

async fn render_domains(
    session: &Session,
    status: StatusCode,
    alert: Option<Alert>,
) -> PortalResult {
    let domains = session
        .call
        .tenants()
        .list_verified_domains(
            session
                .call
                .request(pb::ListVerifiedDomainsRequest::default()),
        )
        .await?
        .into_inner()
        .domains;
    let any_domain = session
        .tenant
        .settings
        .as_ref()
        .and_then(|settings| {
            settings
                .fields
                .get(tenant_fields::SCIM_EMAIL_DOMAINS_SETTING)
        })
        .and_then(|value| match &value.kind {
            Some(prost_types::value::Kind::StringValue(text)) => Some(text == "any"),
            _ => None,
        })
        .unwrap_or(false);
    let csrf = csrf_field(&session.csrf);
    let mut body = String::from(
        r#"<p>While SCIM provisioning is on, your identity provider may set a user's email only to an address in one of your verified domains. It cannot move someone's account to an address outside them, and people cannot change the email of an account your identity provider manages. Addresses a user already has stay allowed.</p>
"#,
    );
    if any_domain {
        body.push_str(
            r#"<p class="note">This team lets SCIM set emails in <strong>any</strong> domain (a super admin's setting): the list below is not enforced.</p>
"#,
        );
    }
    body.push_str(r#"<section aria-labelledby="listed"><h2 id="listed">Domains</h2>"#);
    if domains.is_empty() {
        body.push_str(
            "<p>No verified domains: while SCIM is on, your identity provider cannot set or change emails.</p>\n",
        );
    } else {
        body.push_str("<ul class=\"domains\">\n");
        for domain in &domains {
            let domain = escape(domain);
            let _ = writeln!(
                body,
                r#"<li><span>{domain}</span> <form class="inline" method="post" action="/portal/domains">{csrf}<input type="hidden" name="action" value="remove"><input type="hidden" name="domain" value="{domain}"><button type="submit" class="danger" aria-label="Remove {domain}">Remove</button></form></li>"#
            );
        }
        body.push_str("</ul>\n");
    }
    let _ = write!(
        body,
        r#"</section>
<section aria-labelledby="add"><h2 id="add">Add a domain</h2>
<form method="post" action="/portal/domains">{csrf}<input type="hidden" name="action" value="add">
<p><label for="domain">Domain</label> <input id="domain" name="domain" required placeholder="example.com" aria-describedby="domain-help"> <button type="submit">Add domain</button></p>
<p id="domain-help" class="help">Add only domains your team owns and has verified in the product.</p>
</form></section>
"#
    );
    Ok(session.page(status, Section::Domains, alert.as_ref(), &body))
}

/// `GET /portal/domains`.
pub(crate) async fn domains(RawQuery(query): RawQuery, session: Session) -> PortalResult {
    render_domains(&session, StatusCode::OK, done_alert(query.as_deref())).await
}

/// `POST /portal/domains` (`action=add|remove`, `domain`).
pub(crate) async fn change_domain(SignedForm { session, form }: SignedForm) -> PortalResult {
    let domain = form.get("domain").to_owned();
    let tenants = session.call.tenants();
    let (changed, done) = match form.get("action") {
        "add" => (
            tenants
                .clone()
                .add_verified_domain(session.call.request(pb::AddVerifiedDomainRequest {
                    tenant_id: String::new(),
                    domain,
                }))
                .await,
            "/portal/domains?done=domain-added",
        ),
        "remove" => (
            tenants
                .clone()
                .remove_verified_domain(session.call.request(pb::RemoveVerifiedDomainRequest {
                    tenant_id: String::new(),
                    domain,
                }))
                .await,
            "/portal/domains?done=domain-removed",
        ),
        _ => return Err(PortalError::Invalid("action is add or remove".into())),
    };
    match changed {
        Ok(_) => Ok(see_other(done)),
        Err(status) => {
            refused(status.into(), |status, alert| {
                render_domains(&session, status, Some(alert))
            })
            .await
        }
    }
}

/// `GET /portal/guide`: the steps in Okta and in Entra ID, with this team's URL.
pub(crate) async fn guide(State(portal): State<Portal>, session: Session) -> PortalResult {
    let base_url = portal.identity.base_url();
    let url = copyable("guide-url", "SCIM base URL", base_url);
    let entra_url = copyable("guide-entra-url", "Tenant URL", base_url);
    let body = format!(
        r#"<p>Set up provisioning once, in your identity provider's admin console. You need a SCIM API key: generate one on the <a href="/portal/">SCIM provisioning</a> page (it is shown once) and make sure SCIM provisioning is on.</p>
<section aria-labelledby="okta"><h2 id="okta">Okta</h2>
<ol class="steps">
<li>In the Okta Admin Console, go to <em>Applications → Browse App Catalog</em>, search for <strong>SCIM 2.0 Test App (Header Auth)</strong> and add it (or open your product's own Okta app if it has one).</li>
<li>On the <em>Provisioning</em> tab, click <em>Configure API Integration</em> and check <em>Enable API integration</em>.</li>
<li>Enter the base URL: {url}</li>
<li>In <em>API Token</em>, paste your SCIM API key.</li>
<li>Click <strong>Test API Credentials</strong>. Okta should report success; the <a href="/portal/status">connection status</a> page shows the test's result here too. Then save.</li>
<li>Under <em>Provisioning → To App</em>, click <em>Edit</em> and enable <strong>Create Users</strong>, <strong>Update User Attributes</strong> and <strong>Deactivate Users</strong>. Leave <strong>Sync Password</strong> off: passwords are never synced. Save.</li>
<li>In the attribute mappings (<em>To App</em>), keep only <code>userName</code>, <code>givenName</code> (name.givenName) and <code>familyName</code> (name.familyName); remove the others, which this app does not use.</li>
<li>On the <em>Assignments</em> tab, assign the people and groups who should have accounts. Okta creates them here; unassigning or deactivating someone in Okta deactivates their account.</li>
<li>On the <em>Push Groups</em> tab, push the groups whose membership should follow Okta. For a group that already exists in the product, choose <strong>Link Group</strong> to link it (its members are then managed by Okta); choose <strong>Create Group</strong> only for groups that do not exist yet. A group created in the product that already has members cannot be linked: create it from Okta instead.</li>
</ol></section>
<section aria-labelledby="entra"><h2 id="entra">Microsoft Entra ID</h2>
<ol class="steps">
<li>In the Microsoft Entra admin center, go to <em>Enterprise applications → New application → Create your own application</em>, choose <em>Integrate any other application you don't find in the gallery</em>, and create it.</li>
<li>Open <em>Provisioning</em>, set <em>Provisioning Mode</em> to <strong>Automatic</strong>.</li>
<li>Enter the tenant URL: {entra_url}</li>
<li>In <em>Secret Token</em>, paste your SCIM API key, then click <strong>Test Connection</strong> and save.</li>
<li>Under <em>Mappings</em>, keep <code>userName</code>, <code>active</code>, <code>name.givenName</code>, <code>name.familyName</code> and <code>emails[type eq "work"].value</code> for users, and <code>displayName</code> and <code>members</code> for groups.</li>
<li>Under <em>Users and groups</em>, assign who should be provisioned, set <em>Provisioning Status</em> to <strong>On</strong> and save. Entra provisions in cycles (about every 40 minutes).</li>
</ol></section>
<section aria-labelledby="emails"><h2 id="emails">Emails</h2><p>Your identity provider can set emails only in your <a href="/portal/domains">verified domains</a>. People whose accounts it manages cannot change their own email or leave the team; only admins remove members.</p></section>
"#
    );
    Ok(session.page(StatusCode::OK, Section::Guide, None, &body))
}
