//! Faults on demand: `xray-keys standin fault add --target … --fault … [--count N]` makes the
//! stand-in answer a part of its API the way a broken or unusual Xray does, for tests and
//! demos. Stored in the database, so every instance answers with them; there is no HTTP way to
//! set them.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::entities::standin_faults as faults;
use crate::error::AppError;

/// The part of the API a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Authenticate,
    Backup,
    Status,
    File,
    Graphql,
    Import,
}

/// What the stand-in answers instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Xray's 401: the data lives in another region.
    Region,
    /// Xray's 401: the licence is not valid.
    License,
    /// 500.
    ServerError,
    /// 503 with `Retry-After`.
    Unavailable,
    /// No answer for [`HANG`], then 504: for clients' time-outs.
    Hang,
    /// The backup job stays `working` (status).
    StuckWorking,
    /// Half of the zip (file).
    TruncatedZip,
    /// The v2 file link points to another origin (file): a client must not send its token there.
    RedirectOtherOrigin,
}

/// How long a `hang` holds the request.
pub const HANG: std::time::Duration = std::time::Duration::from_secs(300);

impl Target {
    pub const ALL: [Target; 6] = [
        Target::Authenticate,
        Target::Backup,
        Target::Status,
        Target::File,
        Target::Graphql,
        Target::Import,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Authenticate => "authenticate",
            Target::Backup => "backup",
            Target::Status => "status",
            Target::File => "file",
            Target::Graphql => "graphql",
            Target::Import => "import",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl Fault {
    pub const ALL: [Fault; 8] = [
        Fault::Region,
        Fault::License,
        Fault::ServerError,
        Fault::Unavailable,
        Fault::Hang,
        Fault::StuckWorking,
        Fault::TruncatedZip,
        Fault::RedirectOtherOrigin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Region => "region",
            Fault::License => "license",
            Fault::ServerError => "server-error",
            Fault::Unavailable => "unavailable",
            Fault::Hang => "hang",
            Fault::StuckWorking => "stuck-working",
            Fault::TruncatedZip => "truncated-zip",
            Fault::RedirectOtherOrigin => "redirect-other-origin",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Whether the fault means anything for `target` (a truncated zip is only a file's).
    pub fn fits(self, target: Target) -> bool {
        match self {
            Fault::StuckWorking => target == Target::Status,
            Fault::TruncatedZip | Fault::RedirectOtherOrigin => target == Target::File,
            _ => true,
        }
    }
}

/// A fault in force, as the page and `fault list` show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InForce {
    pub target: String,
    pub fault: String,
    pub remaining: Option<i32>,
    pub since: DateTime<Utc>,
}

pub async fn add(
    db: &DatabaseConnection,
    target: Target,
    fault: Fault,
    count: Option<u32>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if !fault.fits(target) {
        return Err(AppError::validation(
            "fault",
            format!(
                "The fault {} does not apply to {}.",
                fault.name(),
                target.name()
            ),
        ));
    }
    faults::ActiveModel {
        target: Set(target.name().to_string()),
        fault: Set(fault.name().to_string()),
        remaining: Set(count.map(|n| i32::try_from(n).unwrap_or(i32::MAX))),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Removes every fault; returns how many there were.
pub async fn clear(db: &DatabaseConnection) -> Result<u64, AppError> {
    Ok(faults::Entity::delete_many().exec(db).await?.rows_affected)
}

pub async fn in_force(db: &impl ConnectionTrait) -> Result<Vec<InForce>, AppError> {
    Ok(faults::Entity::find()
        .order_by_asc(faults::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|f| InForce {
            target: f.target,
            fault: f.fault,
            remaining: f.remaining,
            since: f.created_at,
        })
        .collect())
}

/// The fault this request to `target` meets, if any: the oldest one for it that `accept`s. A
/// counted fault is used up atomically (two instances never both take its last use) and then
/// deleted.
pub async fn take(
    db: &DatabaseConnection,
    target: Target,
    accept: impl Fn(Fault) -> bool,
) -> Result<Option<Fault>, AppError> {
    let candidates = faults::Entity::find()
        .filter(faults::Column::Target.eq(target.name()))
        .order_by_asc(faults::Column::Id)
        .all(db)
        .await?;
    for candidate in candidates {
        let Some(fault) = Fault::parse(&candidate.fault).filter(|f| accept(*f)) else {
            continue;
        };
        if candidate.remaining.is_none() {
            return Ok(Some(fault));
        }
        let used = faults::Entity::update_many()
            .col_expr(
                faults::Column::Remaining,
                Expr::col(faults::Column::Remaining).sub(1),
            )
            .filter(faults::Column::Id.eq(candidate.id))
            .filter(faults::Column::Remaining.gt(0))
            .exec(db)
            .await?;
        faults::Entity::delete_many()
            .filter(faults::Column::Id.eq(candidate.id))
            .filter(faults::Column::Remaining.lte(0))
            .exec(db)
            .await?;
        if used.rows_affected == 1 {
            return Ok(Some(fault));
        }
    }
    Ok(None)
}
