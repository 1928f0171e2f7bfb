//! Storing, reading and testing the Xray credentials. Plain async functions: the server
//! functions, the CLI and the integration tests call these.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, Set,
};

use super::connection::{Tester, XraySecret};
use super::destination::{HostPolicy, Refused};
use super::{
    validate, BaseUrl, CredentialsForm, CredentialsView, Outcome, TestResult, ValidCredentials,
    MISMATCH_MESSAGE, REENTER_MESSAGE,
};
use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome as AuditOutcome};
use crate::entities::xray_credentials as creds;
use crate::error::AppError;
use crate::users::Role;
use crate::vault::{MasterKey, OpenError};

/// Who may see and change the credentials.
pub const ROLES: &[Role] = &[Role::BackupOperator, Role::Administrator];

/// The one credentials row the app keeps.
pub const RECORD_ID: i32 = 1;

/// The additional data binding a sealed secret to its row, its Client ID and the API it is
/// sent to: a row whose Client ID or URL was changed behind the app's back no longer opens, so
/// the secret cannot be redirected to another host by editing the database.
pub use crate::entities::xray_credentials::secret_binding;

/// The binding of rows sealed before the Client ID and URL were part of it.
fn legacy_secret_binding(id: i32) -> String {
    format!("xray_credentials:{id}:client_secret")
}

/// Set once every row is sealed with [`secret_binding`].
const BINDING_SETTING: &str = "credentials_binding";
const BINDING_VERSION: &str = "2";

fn view_of(row: creds::Model, secret_matches: bool) -> CredentialsView {
    let last_test = match (row.last_test_outcome, row.last_tested_at) {
        (Some(code), Some(tested_at)) => {
            Outcome::from_stored(&code, row.last_test_detail).map(|outcome| TestResult {
                outcome,
                tested_at,
                current: row.last_test_version == Some(row.version),
            })
        }
        _ => None,
    };
    CredentialsView {
        client_id: row.client_id,
        base_url: BaseUrl::from_stored(&row.base_url),
        updated_by: row.updated_by,
        updated_at: row.updated_at,
        version: row.version,
        last_test,
        secret_matches,
    }
}

pub async fn load(db: &impl ConnectionTrait) -> Result<Option<CredentialsView>, AppError> {
    Ok(creds::Entity::find_by_id(RECORD_ID)
        .one(db)
        .await?
        .map(|row| view_of(row, true)))
}

/// Like [`load`], and says whether the stored secret still opens for its Client ID and URL.
pub async fn load_checked(
    db: &impl ConnectionTrait,
    master_key: &MasterKey,
) -> Result<Option<CredentialsView>, AppError> {
    let Some(row) = creds::Entity::find_by_id(RECORD_ID).one(db).await? else {
        return Ok(None);
    };
    let matches = !matches!(
        master_key.open(&row.secret_sealed, &binding_of(&row)),
        Err(OpenError::Forged | OpenError::Malformed)
    );
    Ok(Some(view_of(row, matches)))
}

fn binding_of(row: &creds::Model) -> String {
    row.secret_binding()
}

/// Edit mode was opened: the audit trail says who looked at the form.
pub async fn begin_edit(
    db: &impl ConnectionTrait,
    master_key: &MasterKey,
    actor: &Actor,
) -> Result<Option<CredentialsView>, AppError> {
    record(
        db,
        actor,
        action::CREDENTIALS_EDIT,
        None,
        AuditOutcome::Success,
        None,
    )
    .await?;
    load_checked(db, master_key).await
}

/// Stores the form's values. A new secret always wins (the last complete save); a save that
/// keeps the stored secret must start from the stored version, or it would pair this form's
/// Client ID with a secret someone else saved meanwhile. Returns the new version.
pub async fn save(
    db: &DatabaseConnection,
    master_key: &MasterKey,
    actor: &Actor,
    form: &CredentialsForm,
    policy: &HostPolicy,
) -> Result<i64, AppError> {
    // A concurrent writer can move the version between our read and our write; then read again.
    for _ in 0..5 {
        if let Some(version) = try_save(db, master_key, actor, form, policy).await? {
            return Ok(version);
        }
    }
    Err(AppError::Conflict(
        "The credentials are being changed by someone else right now. Try again.".into(),
    ))
}

async fn try_save(
    db: &DatabaseConnection,
    master_key: &MasterKey,
    actor: &Actor,
    form: &CredentialsForm,
    policy: &HostPolicy,
) -> Result<Option<i64>, AppError> {
    // Lock before reading: SQLite takes its write lock at BEGIN (it cannot upgrade a read
    // transaction while another writer commits), and on PostgreSQL the row lock (FOR UPDATE,
    // which SQLite leaves out) queues concurrent savers instead of sending them round the loop.
    let txn = crate::db::begin_write(db).await?;
    // The canary first, as the master-key rotation takes it: the two never interleave.
    master_key_is_current(&txn, master_key).await?;
    let current = creds::Entity::find_by_id(RECORD_ID)
        .lock_exclusive()
        .one(&txn)
        .await?;
    let valid = validate(form, current.is_some()).map_err(|errors| {
        let (field, message) = errors.into_iter().next().unwrap_or_default();
        AppError::validation(field, message)
    })?;
    policy
        .check_static(&valid.base_url)
        .map_err(|Refused(reason)| AppError::validation("custom_url", reason))?;
    if let (None, Some(row)) = (&valid.client_secret, &current) {
        if sends_elsewhere(&valid, &row.client_id, &row.base_url) {
            return Err(AppError::validation("client_secret", REENTER_MESSAGE));
        }
    }
    let now = Utc::now();
    let binding = secret_binding(RECORD_ID, &valid.client_id, &valid.base_url.stored());
    let sealed = match &valid.client_secret {
        Some(secret) => Some(master_key.seal(secret.as_bytes(), &binding)?),
        None => None,
    };
    let new_version = match &current {
        None => {
            let Some(sealed) = sealed.clone() else {
                return Err(AppError::validation(
                    "client_secret",
                    "Enter the Client secret.",
                ));
            };
            let inserted = creds::Entity::insert(creds::ActiveModel {
                id: Set(RECORD_ID),
                client_id: Set(valid.client_id.clone()),
                secret_sealed: Set(sealed),
                base_url: Set(valid.base_url.stored()),
                version: Set(1),
                updated_by: Set(actor.name.clone()),
                updated_at: Set(now),
                last_test_outcome: Set(None),
                last_test_detail: Set(None),
                last_tested_at: Set(None),
                last_test_version: Set(None),
            })
            .exec_without_returning(&txn)
            .await;
            match inserted {
                Ok(_) => 1,
                // Another first save got in first: go round again and update it.
                Err(e) if crate::db::is_unique_violation(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        Some(row) => {
            if sealed.is_none() && form.version != row.version {
                return Err(AppError::Conflict(format!(
                    "{} changed the credentials at {} while you were editing them. Nothing was \
                     saved: reload, then enter your changes again (with the Client secret).",
                    row.updated_by,
                    row.updated_at.format("%Y-%m-%d %H:%M UTC")
                )));
            }
            let mut update = creds::Entity::update_many()
                .col_expr(
                    creds::Column::ClientId,
                    Expr::value(valid.client_id.clone()),
                )
                .col_expr(creds::Column::BaseUrl, Expr::value(valid.base_url.stored()))
                .col_expr(creds::Column::Version, Expr::value(row.version + 1))
                .col_expr(creds::Column::UpdatedBy, Expr::value(actor.name.clone()))
                .col_expr(creds::Column::UpdatedAt, Expr::value(now));
            if let Some(sealed) = sealed.clone() {
                update = update.col_expr(creds::Column::SecretSealed, Expr::value(sealed));
            }
            let result = update
                .filter(creds::Column::Id.eq(RECORD_ID))
                .filter(creds::Column::Version.eq(row.version))
                .exec(&txn)
                .await?;
            if result.rows_affected != 1 {
                return Ok(None);
            }
            row.version + 1
        }
    };
    record(
        &txn,
        actor,
        action::CREDENTIALS_SAVE,
        Some(&valid.client_id),
        AuditOutcome::Success,
        Some(format!(
            "base URL: {}; Client secret: {}",
            valid.base_url.label(),
            if sealed.is_some() { "replaced" } else { "kept" }
        )),
    )
    .await?;
    txn.commit().await?;
    Ok(Some(new_version))
}

/// The key of this server that `view` uses, when it points at this server's API.
pub async fn issued_here(
    db: &impl ConnectionTrait,
    view: Option<&CredentialsView>,
) -> Result<Option<super::IssuedHere>, AppError> {
    use crate::entities::{api_keys, users};
    let Some(view) = view.filter(|v| v.base_url == BaseUrl::ThisServer) else {
        return Ok(None);
    };
    let found = api_keys::Entity::find()
        .filter(api_keys::Column::ClientId.eq(view.client_id.as_str()))
        .find_also_related(users::Entity)
        .one(db)
        .await?;
    Ok(found.map(|(key, user)| super::IssuedHere {
        user_key: user.map(|u| u.user_key).unwrap_or_default(),
        expires_at: key.expires_at,
        last_used_at: key.last_used_at,
    }))
}

/// The rotation handshake: inside the caller's transaction (the key's regeneration), seals
/// `new_secret` into the stored credentials, which must hold `client_id` for this server's API.
/// An error rolls the caller's transaction back, so the key keeps its secret too.
pub async fn reseal_for_key(
    txn: &impl ConnectionTrait,
    master_key: &MasterKey,
    actor: &Actor,
    client_id: &str,
    new_secret: &str,
) -> Result<bool, AppError> {
    master_key_is_current(txn, master_key).await?;
    let row = creds::Entity::find_by_id(RECORD_ID)
        .lock_exclusive()
        .one(txn)
        .await?
        .filter(|row| {
            row.client_id == client_id && BaseUrl::from_stored(&row.base_url) == BaseUrl::ThisServer
        })
        .ok_or_else(|| {
            AppError::Conflict(
                "The Xray Credentials no longer hold this API Key, so they could not be updated. \
                 Nothing was changed."
                    .into(),
            )
        })?;
    let sealed = master_key.seal(new_secret.as_bytes(), &row.secret_binding())?;
    let result = creds::Entity::update_many()
        .col_expr(creds::Column::SecretSealed, Expr::value(sealed))
        .col_expr(creds::Column::Version, Expr::value(row.version + 1))
        .col_expr(creds::Column::UpdatedBy, Expr::value(actor.name.clone()))
        .col_expr(creds::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(creds::Column::Id.eq(RECORD_ID))
        .filter(creds::Column::Version.eq(row.version))
        .exec(txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(AppError::Conflict(
            "The Xray Credentials were changed at the same moment. Nothing was changed; try again."
                .into(),
        ));
    }
    record(
        txn,
        actor,
        action::CREDENTIALS_SAVE,
        Some(client_id),
        AuditOutcome::Success,
        Some("Client secret: replaced by the API Key's regeneration".into()),
    )
    .await?;
    Ok(true)
}

/// Whether keeping the stored secret would send it to another Client ID or API than the one it
/// was saved for.
pub fn sends_elsewhere(
    valid: &ValidCredentials,
    stored_client_id: &str,
    stored_base: &str,
) -> bool {
    valid.client_id != stored_client_id || valid.base_url.stored() != stored_base
}

/// Refuses to seal under a master key the database has moved away from (a rotation by the CLI
/// while this server still holds the old key): the next start could not open what it sealed.
/// Read inside the saving transaction, so a rotation cannot commit in between.
async fn master_key_is_current(
    txn: &impl ConnectionTrait,
    master_key: &MasterKey,
) -> Result<(), AppError> {
    if crate::vault::canary_opens(txn, master_key).await? {
        return Ok(());
    }
    tracing::error!(
        key_id = master_key.id(),
        "the master key was rotated since this server started: restart it to load the new key"
    );
    Err(AppError::Conflict(
        "The master key was changed since this server started, so nothing was saved. Restart \
         the server, then save again."
            .into(),
    ))
}

/// The stored Client ID, secret and base URL, for a connection test or a backup job.
pub async fn read_stored(
    db: &impl ConnectionTrait,
    master_key: &MasterKey,
) -> Result<Option<(creds::Model, XraySecret)>, AppError> {
    let Some(row) = creds::Entity::find_by_id(RECORD_ID).one(db).await? else {
        return Ok(None);
    };
    let plain = master_key
        .open(&row.secret_sealed, &binding_of(&row))
        .map_err(|e| match e {
            OpenError::OtherKey(_) => {
                tracing::error!(error = %e, "cannot decrypt the stored Xray Client secret");
                AppError::Unavailable
            }
            // Its Client ID or URL was changed outside the app: the secret stays sealed.
            OpenError::Forged | OpenError::Malformed => {
                tracing::warn!(
                    error = %e,
                    "the stored Xray Client secret does not open for its Client ID and URL"
                );
                AppError::Conflict(MISMATCH_MESSAGE.into())
            }
        })?;
    let secret = String::from_utf8(plain).map_err(|_| {
        tracing::error!("the stored Xray Client secret is not text");
        AppError::Internal
    })?;
    Ok(Some((row, XraySecret::new(secret))))
}

/// Tests the stored credentials, stores the result (unless they were saved again meanwhile),
/// audits the test and answers the fresh view.
pub async fn test_stored(
    db: &impl ConnectionTrait,
    master_key: &MasterKey,
    actor: &Actor,
    tester: &Tester,
) -> Result<CredentialsView, AppError> {
    let Some((row, secret)) = read_stored(db, master_key).await? else {
        return Err(AppError::NotFound(
            "No Xray credentials are stored yet: add them first.".into(),
        ));
    };
    let base = BaseUrl::from_stored(&row.base_url);
    let outcome = tester.test(&base, &row.client_id, &secret).await;
    store_outcome(db, &row, &outcome, "Connection test").await?;
    record(
        db,
        actor,
        action::CREDENTIALS_TEST,
        Some(&row.client_id),
        if outcome.is_ok() {
            AuditOutcome::Success
        } else {
            AuditOutcome::Failure
        },
        Some(format!("{} ({})", outcome.badge(), base.label())),
    )
    .await?;
    load_checked(db, master_key)
        .await?
        .ok_or_else(|| AppError::NotFound("The Xray credentials were removed meanwhile.".into()))
}

/// Keeps `outcome` as the last check of the credentials in `row`, unless they were saved again
/// meanwhile, and adds it to the checks' history with its `source` (a connection test, a
/// scheduled check, a backup run).
pub async fn store_outcome(
    db: &impl ConnectionTrait,
    row: &creds::Model,
    outcome: &Outcome,
    source: &str,
) -> Result<(), AppError> {
    let (code, detail) = outcome.to_stored();
    crate::entities::xray_credential_checks::ActiveModel {
        checked_at: Set(Utc::now()),
        source: Set(source.chars().take(64).collect()),
        outcome: Set(code.clone()),
        detail: Set(detail.as_deref().map(|d| d.chars().take(512).collect())),
        ok: Set(outcome.is_ok()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    creds::Entity::update_many()
        .col_expr(creds::Column::LastTestOutcome, Expr::value(code.clone()))
        .col_expr(
            creds::Column::LastTestDetail,
            Expr::value(detail.map(|d| d.chars().take(512).collect::<String>())),
        )
        .col_expr(creds::Column::LastTestedAt, Expr::value(Utc::now()))
        .col_expr(creds::Column::LastTestVersion, Expr::value(row.version))
        .filter(creds::Column::Id.eq(row.id))
        .filter(creds::Column::Version.eq(row.version))
        .exec(db)
        .await?;
    Ok(())
}

/// The latest `n` checks of the stored credentials, newest first.
pub async fn recent_checks(
    db: &impl ConnectionTrait,
    n: u64,
) -> Result<Vec<super::CheckRow>, AppError> {
    use crate::entities::xray_credential_checks as checks;
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(checks::Entity::find()
        .order_by_desc(checks::Column::Id)
        .limit(n)
        .all(db)
        .await?
        .into_iter()
        .map(|c| {
            let outcome = Outcome::from_stored(&c.outcome, c.detail.clone());
            super::CheckRow {
                checked_at: c.checked_at,
                source: c.source,
                badge: outcome
                    .as_ref()
                    .map_or_else(|| c.outcome.clone(), |o| o.badge().to_string()),
                ok: c.ok,
            }
        })
        .collect())
}

/// Re-seals rows stored before the secret was bound to its Client ID and URL, once: after that a
/// row that opens only under the old binding is refused like any other mismatch.
pub async fn upgrade_binding(
    db: &DatabaseConnection,
    master_key: &MasterKey,
) -> Result<u64, AppError> {
    // Read first: after the first start this costs one read, not the write lock; read again
    // under the lock, as another instance may have upgraded meanwhile.
    if binding_upgraded(db).await? {
        return Ok(0);
    }
    let txn = crate::db::begin_write(db).await?;
    if binding_upgraded(&txn).await? {
        return Ok(0);
    }
    let mut count = 0;
    for row in creds::Entity::find().all(&txn).await? {
        let binding = binding_of(&row);
        if master_key.open(&row.secret_sealed, &binding).is_ok() {
            continue;
        }
        let Ok(plain) = master_key.open(&row.secret_sealed, &legacy_secret_binding(row.id)) else {
            tracing::warn!(id = row.id, "stored Xray credentials open under no binding");
            continue;
        };
        let mut active: creds::ActiveModel = row.into();
        active.secret_sealed = Set(master_key.seal(&plain, &binding)?);
        active.update(&txn).await?;
        count += 1;
    }
    crate::vault::put_setting(&txn, BINDING_SETTING, BINDING_VERSION).await?;
    txn.commit().await?;
    Ok(count)
}

async fn binding_upgraded(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    Ok(
        crate::entities::settings::Entity::find_by_id(BINDING_SETTING.to_string())
            .one(db)
            .await?
            .is_some_and(|s| s.value == BINDING_VERSION),
    )
}
