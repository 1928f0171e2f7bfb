//! The Xray stand-in's test tenant and a bearer token for it, shared by its contract tests.

use app::standin::seed::SeedPlan;
use app::state::AppState;
use chrono::Utc;

/// Two projects with every issue type, small enough to seed in every test.
pub const SMALL_TENANT: SeedPlan = SeedPlan {
    projects: 2,
    tests: 30,
    preconditions: 5,
    test_sets: 3,
    test_plans: 2,
    executions: 4,
    runs_per_execution: 10,
    seed: 42,
};

/// A bearer token for a new API key of `user`, as a client gets it from authenticate.
pub async fn bearer_for(state: &AppState, user: &str) -> String {
    let key = super::key_for(&state.db, user).await;
    let body =
        serde_json::json!({ "client_id": key.client_id, "client_secret": key.client_secret })
            .to_string();
    let credentials =
        app::xray_api::service::parse_credentials(Some("application/json"), body.as_bytes())
            .expect("credentials");
    app::xray_api::service::authenticate(state, credentials, "10.9.0.9", Utc::now())
        .await
        .expect("a token")
}
