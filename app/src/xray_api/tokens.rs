//! Bearer tokens: JWTs signed HS256 with a server key kept sealed in the database, so every
//! instance on a shared database issues and accepts the same tokens and they survive restarts.
//!
//! Claims: `iss` = the Client Id, `sub` = the user key, `aud` = the Client Id, `iat`, `exp` =
//! `iat` + 24 h, and `gen` = the key's secret generation. The header's `kid` names the signing
//! key. A token is only as alive as its key: every request checks the key still exists with that
//! generation, its user is active and `kid` is still the current signing key.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Set};
use serde::{Deserialize, Serialize};

use crate::entities::settings;
use crate::error::AppError;
use crate::vault::{self, MasterKey};

pub const TOKEN_LIFETIME: Duration = Duration::hours(24);
/// The sealed signing key (`<kid>:<key hex>`).
pub const SIGNING_KEY_SETTING: &str = "token_signing_key";
/// The current signing key's id, in the clear so each request can compare it cheaply.
pub const SIGNING_KID_SETTING: &str = "token_signing_kid";
/// Tokens are short; anything longer is not one of ours and is refused before parsing.
pub const TOKEN_MAX_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub r#gen: i32,
}

/// The HMAC key tokens are signed with. No `Debug`: a secret.
struct SigningKey {
    kid: String,
    key: [u8; 32],
}

impl SigningKey {
    fn generate() -> Result<Self, AppError> {
        Ok(SigningKey {
            kid: hex::encode(crate::crypto::random_bytes::<8>()?),
            key: crate::crypto::random_bytes::<32>()?,
        })
    }

    fn sealed(&self, master: &MasterKey) -> Result<String, AppError> {
        master.seal(
            format!("{}:{}", self.kid, hex::encode(self.key)).as_bytes(),
            &vault::settings_record(SIGNING_KEY_SETTING),
        )
    }

    fn unseal(master: &MasterKey, sealed: &str) -> Result<Self, AppError> {
        let plain = master
            .open(sealed, &vault::settings_record(SIGNING_KEY_SETTING))
            .map_err(AppError::logged("cannot open the token-signing key"))?;
        let text = String::from_utf8(plain).map_err(|_| AppError::Internal)?;
        let (kid, key_hex) = text.split_once(':').ok_or(AppError::Internal)?;
        let key: [u8; 32] = hex::decode(key_hex)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or(AppError::Internal)?;
        Ok(SigningKey {
            kid: kid.to_string(),
            key,
        })
    }
}

/// This instance's copy of the current signing key, loaded from (or, on the very first start,
/// created in) the database.
pub struct TokenKeys {
    master: MasterKey,
    current: RwLock<Option<Arc<SigningKey>>>,
}

impl TokenKeys {
    pub fn new(master: MasterKey) -> Self {
        TokenKeys {
            master,
            current: RwLock::new(None),
        }
    }

    fn cached(&self) -> Option<Arc<SigningKey>> {
        self.current.read().ok().and_then(|c| c.clone())
    }

    /// Reads the signing key from the database, creating it when there is none yet. Two
    /// instances starting together agree on one key: the second insert does nothing.
    async fn load(&self, db: &DatabaseConnection) -> Result<Arc<SigningKey>, AppError> {
        let key = match read_sealed(db).await? {
            Some(sealed) => SigningKey::unseal(&self.master, &sealed)?,
            None => {
                let fresh = SigningKey::generate()?;
                let txn = crate::db::begin_write(db).await?;
                insert_if_absent(&txn, SIGNING_KEY_SETTING, &fresh.sealed(&self.master)?).await?;
                insert_if_absent(&txn, SIGNING_KID_SETTING, &fresh.kid).await?;
                txn.commit().await?;
                let sealed = read_sealed(db).await?.ok_or(AppError::Internal)?;
                SigningKey::unseal(&self.master, &sealed)?
            }
        };
        let key = Arc::new(key);
        if let Ok(mut current) = self.current.write() {
            *current = Some(key.clone());
        }
        Ok(key)
    }

    /// Makes sure a signing key exists and is readable (at start-up).
    pub async fn ensure(&self, db: &DatabaseConnection) -> Result<(), AppError> {
        self.load(db).await.map(|_| ())
    }

    /// A signed token for `claims`, under the key the database names current (`current_kid`,
    /// read by the caller in the same query as the key), so a key rotated by another instance is
    /// picked up here before it signs anything.
    pub async fn issue(
        &self,
        db: &DatabaseConnection,
        claims: &Claims,
        current_kid: Option<&str>,
    ) -> Result<String, AppError> {
        let key = match self.cached() {
            Some(key) if Some(key.kid.as_str()) == current_kid => key,
            _ => self.load(db).await?,
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&key.key))
            .map_err(AppError::logged("cannot sign a token"))
    }

    /// The claims of `token` when its signature, algorithm, key id and times are right at `now`.
    /// Whether its API key is still alive is the caller's second check. Every failure is the same
    /// `Unauthenticated`.
    pub async fn verify(
        &self,
        db: &DatabaseConnection,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(String, Claims), AppError> {
        if token.is_empty() || token.len() > TOKEN_MAX_LEN {
            return Err(AppError::Unauthenticated);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| AppError::Unauthenticated)?;
        if header.alg != Algorithm::HS256 {
            return Err(AppError::Unauthenticated);
        }
        let kid = header.kid.ok_or(AppError::Unauthenticated)?;
        if kid.len() != 16 || !kid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::Unauthenticated);
        }
        let key = match self.cached() {
            Some(key) if key.kid == kid => key,
            // Another instance may have rotated the key: read the current one.
            _ => self.load(db).await?,
        };
        if key.kid != kid {
            return Err(AppError::Unauthenticated);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        // Times are checked below against the injected clock, without leeway.
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data =
            jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(&key.key), &validation)
                .map_err(|_| AppError::Unauthenticated)?;
        let claims = data.claims;
        let now = now.timestamp();
        let well_formed = claims.iss == claims.aud
            && claims.exp - claims.iat == TOKEN_LIFETIME.num_seconds()
            && claims.iat <= now + 60;
        if !well_formed || now >= claims.exp {
            return Err(AppError::Unauthenticated);
        }
        Ok((kid, claims))
    }

    /// Replaces the signing key: every token issued so far stops working on every instance.
    /// Returns the new key id.
    pub async fn rotate(&self, db: &DatabaseConnection) -> Result<String, AppError> {
        let fresh = SigningKey::generate()?;
        let txn = crate::db::begin_write(db).await?;
        vault::put_setting(&txn, SIGNING_KEY_SETTING, &fresh.sealed(&self.master)?).await?;
        vault::put_setting(&txn, SIGNING_KID_SETTING, &fresh.kid).await?;
        txn.commit().await?;
        let kid = fresh.kid.clone();
        if let Ok(mut current) = self.current.write() {
            *current = Some(Arc::new(fresh));
        }
        Ok(kid)
    }
}

async fn read_sealed(db: &impl ConnectionTrait) -> Result<Option<String>, AppError> {
    Ok(
        settings::Entity::find_by_id(SIGNING_KEY_SETTING.to_string())
            .one(db)
            .await?
            .map(|row| row.value),
    )
}

async fn insert_if_absent(
    db: &impl ConnectionTrait,
    name: &str,
    value: &str,
) -> Result<(), AppError> {
    let inserted = settings::Entity::insert(settings::ActiveModel {
        name: Set(name.to_string()),
        value: Set(value.to_string()),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(settings::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec(db)
    .await;
    match inserted {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
