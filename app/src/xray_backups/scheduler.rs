//! What every instance does every half minute: queue the scheduled run that is due (or the
//! retry of a postponed one), run a queued run when no other instance does, check the stored
//! credentials when their check is due, and note a change of backup health. Each decision is
//! taken under a lease, so two instances never do the same thing twice.

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder};

use super::run::{self, Guard, RunSettings, Trigger};
use super::{service, status};
use crate::audit::service::{record, Actor};
use crate::audit::{action, Outcome as AuditOutcome};
use crate::entities::xray_backup_runs as runs;
use crate::entities::xray_credential_checks as checks;
use crate::error::AppError;
use crate::vault::MasterKey;

/// How often an instance looks.
pub const TICK: Duration = Duration::from_secs(30);
const CHECK_LEASE: &str = "xray-credentials-check";

/// What a tick needs.
#[derive(Clone)]
pub struct Scheduler {
    pub db: DatabaseConnection,
    pub master_key: MasterKey,
    pub settings: RunSettings,
    /// Between checks of the stored credentials; `None`: no scheduled checks.
    pub check_every: Option<chrono::Duration>,
}

impl Scheduler {
    /// As the server's settings say, for this instance.
    pub fn for_server(state: &crate::state::AppState) -> Self {
        let hours = state.config.credential_check_hours;
        Scheduler {
            db: state.db.clone(),
            master_key: state.master_key.clone(),
            settings: RunSettings::for_server(&state.config, instance().to_string()),
            check_every: (hours > 0).then(|| chrono::Duration::hours(i64::from(hours))),
        }
    }
}

/// This process's name among the instances (in lease rows).
pub fn instance() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| format!("{}-{:08x}", std::process::id(), rand::random::<u32>()))
}

/// What one tick did (for tests and the log).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ticked {
    pub queued: Option<i32>,
    pub ran: Option<(i32, String)>,
    pub checked: bool,
}

/// The latest time of day `daily_at` (minutes, UTC) at or before `now`.
pub fn slot_before(now: DateTime<Utc>, daily_at: u32) -> DateTime<Utc> {
    let time =
        NaiveTime::from_num_seconds_from_midnight_opt(daily_at * 60, 0).unwrap_or(NaiveTime::MIN);
    let today = now.date_naive().and_time(time).and_utc();
    if today <= now {
        today
    } else {
        today - chrono::Duration::days(1)
    }
}

pub async fn tick(s: &Scheduler, now: DateTime<Utc>) -> Result<Ticked, AppError> {
    let db = &s.db;
    let mut ticked = Ticked::default();
    // A postponed run is tried again at the time Xray named, whatever started it.
    let latest = runs::Entity::find()
        .order_by_desc(runs::Column::Id)
        .one(db)
        .await?;
    let schedule = service::load_schedule(db).await?;
    let retry = latest
        .as_ref()
        .filter(|r| r.status == status::POSTPONED && r.retry_at.is_some_and(|at| at <= now));
    let due = if let Some(postponed) = retry {
        Some((Guard::NoneAfter(postponed.id), "system"))
    } else if schedule.enabled {
        let slot = slot_before(now, schedule.daily_at);
        let set_before = schedule.updated_at.is_some_and(|at| at < slot);
        set_before.then_some((Guard::ScheduledSince(slot), "system"))
    } else {
        None
    };
    if let Some((guard, by)) = due {
        match run::queue_unless(db, &s.settings, Trigger::Scheduled, by, Some(guard)).await {
            Ok(Some(queued)) => ticked.queued = Some(queued.id),
            Ok(None) | Err(AppError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    // Only with a run queued or left running is the lease worth taking: an idle tick reads.
    let claimed = match service::active_run(db).await? {
        Some(_) => run::claim(db, &s.settings).await?,
        None => None,
    };
    if let Some((row, holder)) = claimed {
        let done = run::execute(db, &s.master_key, &s.settings, row, holder).await?;
        ticked.ran = Some((done.id, done.status));
    }
    if let Some(every) = s.check_every {
        ticked.checked = check_credentials(s, now, every).await?;
    }
    service::note_health(db, now).await?;
    Ok(ticked)
}

/// Checks the stored credentials when the last check is older than `every`.
async fn check_credentials(
    s: &Scheduler,
    now: DateTime<Utc>,
    every: chrono::Duration,
) -> Result<bool, AppError> {
    let db = &s.db;
    let last = checks::Entity::find()
        .order_by_desc(checks::Column::Id)
        .one(db)
        .await?;
    if last.is_some_and(|c| now - c.checked_at < every) {
        return Ok(false);
    }
    let Some((stored, secret)) = crate::credentials::service::read_stored(db, &s.master_key)
        .await
        .or_else(|e| match e {
            AppError::Conflict(_) => Ok(None),
            other => Err(other),
        })?
    else {
        return Ok(false);
    };
    if !crate::lease::acquire(
        db,
        CHECK_LEASE,
        &s.settings.holder,
        now,
        chrono::Duration::minutes(5),
    )
    .await?
    {
        return Ok(false);
    }
    let base = crate::credentials::BaseUrl::from_stored(&stored.base_url);
    let outcome = s
        .settings
        .tester
        .test(&base, &stored.client_id, &secret)
        .await;
    crate::credentials::service::store_outcome(db, &stored, &outcome, "Scheduled check").await?;
    record(
        db,
        &Actor::system(),
        action::CREDENTIALS_TEST,
        Some(&stored.client_id),
        if outcome.is_ok() {
            AuditOutcome::Success
        } else {
            AuditOutcome::Failure
        },
        Some(format!(
            "Scheduled check: {} ({})",
            outcome.badge(),
            base.label()
        )),
    )
    .await?;
    Ok(true)
}

/// Ticks every [`TICK`] for as long as the server runs.
pub fn spawn_scheduling(s: Scheduler) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(TICK);
        loop {
            every.tick().await;
            match tick(&s, Utc::now()).await {
                Ok(t) if t != Ticked::default() => tracing::info!(
                    queued = ?t.queued,
                    ran = ?t.ran,
                    checked = t.checked,
                    "backup scheduler"
                ),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the backup scheduler failed; it runs again later");
                }
            }
        }
    });
}

/// Starts a run now on this instance (Run backup now): queued at once, run in the background.
pub async fn start_now(s: &Scheduler, by: &str) -> Result<runs::Model, AppError> {
    let queued = run::queue(&s.db, &s.settings, Trigger::Manual, by).await?;
    let s = s.clone();
    tokio::spawn(async move {
        match run::claim(&s.db, &s.settings).await {
            Ok(Some((row, holder))) => {
                if let Err(e) = run::execute(&s.db, &s.master_key, &s.settings, row, holder).await {
                    tracing::error!(error = %e, "a backup run failed to record its end");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "a queued backup waits for the next tick"),
        }
    });
    Ok(queued)
}
