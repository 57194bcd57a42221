//! The provisioning log: outcomes reported with the key of their requests, stamped with that
//! key and its tenant, read newest first with filters and keyset paging, cut to bounded sizes,
//! pruned by age, and printed by `provisioning log`.

use std::process::Command;

use identity_proto::v1 as pb;
use tonic::Code;

use crate::support::{App, Backend, on_both_backends, reason, spawn_app};

fn outcome(method: &str, route: &str, status: i32) -> pb::ProvisioningOutcome {
    pb::ProvisioningOutcome {
        request_time: Some(std::time::SystemTime::now().into()),
        method: method.into(),
        route: route.into(),
        status,
        user_agent: "Okta SCIM Client 1.0.0".into(),
        client_address: "198.51.100.7".into(),
        latency: Some(prost_types::Duration {
            seconds: 0,
            nanos: 2_500_000,
        }),
        ..Default::default()
    }
}

/// Reports `outcomes` with the tenant's SCIM key, as the gateway does.
async fn report(app: &App, outcomes: Vec<pb::ProvisioningOutcome>) -> Result<(), tonic::Status> {
    app.scim
        .clone()
        .provisioning
        .record_outcomes(pb::RecordOutcomesRequest {
            tenant_id: String::new(),
            outcomes,
        })
        .await
        .map(drop)
}

async fn list(app: &App, request: pb::ListOutcomesRequest) -> Vec<pb::ProvisioningOutcome> {
    app.admin
        .clone()
        .provisioning
        .list_outcomes(pb::ListOutcomesRequest {
            tenant_id: app.tenant_id.clone(),
            ..request
        })
        .await
        .unwrap()
        .into_inner()
        .outcomes
}

/// Every outcome `request` matches, page by page (pages of `page_size`), and how many calls
/// that took.
async fn all_pages(
    app: &App,
    request: pb::ListOutcomesRequest,
    page_size: i32,
) -> (Vec<pb::ProvisioningOutcome>, usize) {
    let (mut outcomes, mut calls, mut page_token) = (Vec::new(), 0, String::new());
    loop {
        calls += 1;
        let response = app
            .admin
            .clone()
            .provisioning
            .list_outcomes(pb::ListOutcomesRequest {
                tenant_id: app.tenant_id.clone(),
                page: Some(pb::PageRequest {
                    page_size,
                    page_token,
                    ..Default::default()
                }),
                ..request.clone()
            })
            .await
            .unwrap()
            .into_inner();
        outcomes.extend(response.outcomes);
        page_token = response.page.unwrap().next_page_token;
        if page_token.is_empty() {
            return (outcomes, calls);
        }
    }
}

on_both_backends!(outcomes_are_recorded_per_key_and_listed_with_filters);

async fn outcomes_are_recorded_per_key_and_listed_with_filters(backend: Backend) {
    let app = spawn_app(backend, "provisioning log").await;
    let created = pb::ProvisioningOutcome {
        resource_id: "01890000-0000-7000-8000-000000000001".into(),
        request_id: "req-create".into(),
        // Output-only fields a reporter cannot set.
        tenant_id: "someone-else".into(),
        key_id: "forged".into(),
        ..outcome("POST", "/scim/v2/Users", 201)
    };
    let conflict = pb::ProvisioningOutcome {
        request_id: "req-conflict".into(),
        scim_type: "uniqueness".into(),
        detail: "x".repeat(10_000),
        ..outcome("POST", "/scim/v2/Users", 409)
    };
    let read = outcome("GET", "/scim/v2/Users", 200);
    report(&app, vec![created, conflict, read]).await.unwrap();

    let all = list(&app, pb::ListOutcomesRequest::default()).await;
    let statuses: Vec<i32> = all.iter().map(|outcome| outcome.status).collect();
    assert_eq!(statuses, [200, 409, 201], "newest first");
    let scim_key_id = &all[0].key_id;
    assert!(scim_key_id.len() > 8 && scim_key_id != "forged");
    for outcome in &all {
        assert_eq!(outcome.tenant_id, app.tenant_id);
        assert_eq!(&outcome.key_id, scim_key_id);
        assert_eq!(outcome.latency.unwrap().nanos, 2_500_000);
    }
    assert_eq!(all[1].detail.len(), 1024, "details are cut to a log line");

    assert_eq!(all[1].scim_type, "uniqueness");
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    for (filter, expected) in [
        (
            pb::ListOutcomesRequest {
                status_class: pb::StatusClass::Failed.into(),
                ..Default::default()
            },
            vec!["req-conflict"],
        ),
        (
            pb::ListOutcomesRequest {
                resource_id: "01890000-0000-7000-8000-000000000001".into(),
                ..Default::default()
            },
            vec!["req-create"],
        ),
        (
            pb::ListOutcomesRequest {
                request_id: "req-conflict".into(),
                ..Default::default()
            },
            vec!["req-conflict"],
        ),
        (
            pb::ListOutcomesRequest {
                start_time: Some(later.into()),
                ..Default::default()
            },
            vec![],
        ),
    ] {
        let found: Vec<String> = list(&app, filter.clone())
            .await
            .into_iter()
            .map(|outcome| outcome.request_id)
            .collect();
        assert_eq!(found, expected, "{filter:?}");
    }

    // Keyset paging: one a page, newest first, no repeats.
    let (paged, _) = all_pages(&app, pb::ListOutcomesRequest::default(), 1).await;
    let paged: Vec<i32> = paged.iter().map(|outcome| outcome.status).collect();
    assert_eq!(paged, [200, 409, 201]);

    // Bad reports and bad reads are refused, and lose nothing.
    let refused = report(&app, vec![outcome("GET", "/scim/v2/Users", 700)])
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let too_many = report(&app, vec![outcome("GET", "/scim/v2/Users", 200); 1001])
        .await
        .unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument);
    let not_for_scim = app
        .scim
        .clone()
        .provisioning
        .list_outcomes(pb::ListOutcomesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(reason(&not_for_scim), "KEY_KIND_NOT_ALLOWED");
    let bad_token = app
        .admin
        .clone()
        .provisioning
        .list_outcomes(pb::ListOutcomesRequest {
            tenant_id: app.tenant_id.clone(),
            page: Some(pb::PageRequest {
                page_token: "not a token".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad_token.code(), Code::InvalidArgument);
    assert_eq!(
        list(&app, pb::ListOutcomesRequest::default()).await.len(),
        3
    );

    // `provisioning log --failed --json`, as an operator reads it.
    let output = Command::new(env!("CARGO_BIN_EXE_identity-service"))
        .args([
            "provisioning",
            "log",
            "--tenant",
            &app.tenant_id,
            "--failed",
            "--since",
            "1h",
            "--json",
        ])
        .env("IDENTITY_ADDR", app.addr.to_string())
        .env("IDENTITY_KEY", &app.service_key)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!(lines[0]["status"], 409);
    assert_eq!(lines[0]["scim_type"], "uniqueness");
    assert_eq!(lines[0]["request_id"], "req-conflict");
    assert_eq!(lines[0]["key_id"], scim_key_id.as_str());

    // A filter that matches little is served in bounded steps: short pages with a token.
    let needle = pb::ProvisioningOutcome {
        request_id: "req-needle".into(),
        ..outcome("GET", "/scim/v2/Users", 200)
    };
    report(&app, vec![needle]).await.unwrap();
    for _ in 0..21 {
        report(&app, vec![outcome("GET", "/scim/v2/Users", 200); 1000])
            .await
            .unwrap();
    }
    let (needles, calls) = all_pages(
        &app,
        pb::ListOutcomesRequest {
            request_id: "req-needle".into(),
            ..Default::default()
        },
        0,
    )
    .await;
    assert_eq!(needles.len(), 1);
    assert!(calls >= 2, "21,000 outcomes are not scanned in one call");
    app.store
        .prune_outcomes(identity_service::model::now_micros() + 1)
        .await
        .unwrap();
    report(&app, vec![outcome("GET", "/scim/v2/Users", 200); 3])
        .await
        .unwrap();

    // Retention: outcomes older than the cutoff go.
    let pruned = app
        .store
        .prune_outcomes(identity_service::model::now_micros() + 1)
        .await
        .unwrap();
    assert_eq!(pruned, 3);
    assert!(
        list(&app, pb::ListOutcomesRequest::default())
            .await
            .is_empty()
    );
    app.stop().await;
}
