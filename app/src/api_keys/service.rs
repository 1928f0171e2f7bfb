//! Plain async functions over API keys; the page's server functions and the CLI call these.
//! Every mutation runs in one transaction and writes one audit entry per key it touches.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, ExprTrait, LikeExpr, Order, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::secret::{new_client_id, ClientSecret, SecretHasher};
use super::{
    ApiKeyPage, ApiKeyRow, BulkChange, ClientId, FilterWindow, IssuedKey, KeyCandidate, KeyDetails,
    KeyFilter, KeyQuery, PageStart, Selection,
};
use crate::audit::service::{record, record_many, Actor};
use crate::audit::Outcome;
use crate::db::begin_write;
use crate::entities::{api_keys, users, xray_credentials};
use crate::error::AppError;
use crate::users::service::{escape_like, find_by_key, name_contains, name_contains_scanned};
use crate::users::UserKey;

mod action {
    pub use crate::audit::action::{
        API_KEY_CREATE as CREATE, API_KEY_DEACTIVATE as DEACTIVATE, API_KEY_DELETE as DELETE,
        API_KEY_EDIT as EDIT, API_KEY_REACTIVATE as REACTIVATE, API_KEY_REGENERATE as REGENERATE,
        API_KEY_REVOKE_OLD_SECRET as REVOKE_OLD_SECRET,
    };
}

/// Rows per `IN (…)` list, well under every database's parameter limit.
const CHUNK: usize = 500;

/// What a page of keys shows besides its rows, read in one statement (three before, each a
/// statement's work and, on PostgreSQL, a round trip): the API Key Policy (the filters' window,
/// the create dialog's default), the Client Id stored on the Xray Credentials page when they
/// point at this server (its row says "Used by"), and the stored totals.
struct PageContext {
    policy: crate::key_policy::KeyPolicy,
    credentials_client_id: Option<String>,
    totals: StoredTotals,
}

async fn page_context(db: &impl ConnectionTrait) -> Result<PageContext, AppError> {
    let credentials = Query::select()
        .column(xray_credentials::Column::ClientId)
        .from(xray_credentials::Entity)
        .and_where(xray_credentials::Column::Id.eq(crate::credentials::service::RECORD_ID))
        .and_where(
            xray_credentials::Column::BaseUrl.eq(crate::credentials::BaseUrl::ThisServer.stored()),
        )
        .to_owned();
    let statement = Query::select()
        .expr(crate::key_policy::service::stored_query())
        .expr(credentials)
        .expr(StoredTotal::Keys.query())
        .expr(StoredTotal::NeverUsed.query())
        .to_owned();
    let row = db
        .query_one(&statement)
        .await?
        // A SELECT without FROM always has its one row.
        .ok_or_else(|| AppError::logged("the list's context")("no row"))?;
    let policy: Option<String> = row.try_get_by_index(0)?;
    let total = |column| StoredTotal::read(row.try_get_by_index(column)?);
    Ok(PageContext {
        policy: crate::key_policy::service::from_stored(policy.as_deref())?,
        credentials_client_id: row.try_get_by_index(1)?,
        totals: StoredTotals {
            keys: total(2)?,
            never_used: total(3)?,
        },
    })
}

/// The database's form of [`KeyFilter::matches`].
fn filter_condition(
    backend: DbBackend,
    filter: KeyFilter,
    now: DateTime<Utc>,
    window: FilterWindow,
) -> Condition {
    use api_keys::Column as C;
    // Active and Never used take in most keys: their pages are read fastest in user-key
    // order, skipping the few that do not match, not from an index on their own columns and
    // then sorted. SQLite's planner sometimes takes that index all the same (its sampled
    // statistics do not show how skewed the columns are); a unary `+` keeps it off.
    let wide = |column: C| match backend {
        DbBackend::Sqlite => Expr::cust(format!(
            "+\"api_keys\".\"{}\"",
            sea_orm::IdenStatic::as_str(&column)
        )),
        _ => Expr::col((api_keys::Entity, column)),
    };
    match filter {
        KeyFilter::All => Condition::all(),
        KeyFilter::Active => Condition::all().add(wide(C::IsActive).eq(true)).add(
            Condition::any()
                .add(wide(C::ExpiresAt).is_null())
                .add(wide(C::ExpiresAt).gt(now)),
        ),
        KeyFilter::Inactive => Condition::all().add(C::IsActive.eq(false)),
        KeyFilter::ExpiringSoon => Condition::all()
            .add(C::IsActive.eq(true))
            .add(C::ExpiresAt.gt(now))
            .add(C::ExpiresAt.lte(now + window.expiring())),
        KeyFilter::Expired => Condition::all().add(C::ExpiresAt.lte(now)),
        KeyFilter::NeverUsed => Condition::all().add(wide(C::LastUsedAt).is_null()),
        KeyFilter::Unused => {
            let since = now - window.unused();
            Condition::any().add(C::LastUsedAt.lte(since)).add(
                Condition::all()
                    .add(C::LastUsedAt.is_null())
                    .add(C::CreatedAt.lte(since)),
            )
        }
    }
}

/// The filter window of the policy in force.
async fn window(db: &impl ConnectionTrait) -> Result<FilterWindow, AppError> {
    Ok(crate::key_policy::service::load(db).await?.window())
}

fn check_search(search: &str) -> Result<String, AppError> {
    let search = search.trim();
    if search.chars().count() > super::SEARCH_MAX {
        return Err(AppError::validation(
            "search",
            format!("Search for at most {} characters.", super::SEARCH_MAX),
        ));
    }
    Ok(search.to_string())
}

/// The keys a search finds: those whose user key, display name or Client Id contains it,
/// case-insensitively.
enum Found {
    /// No search: every key.
    Everything,
    /// A condition on `api_keys` alone: the key is among those the trigram index of
    /// `api_key_search` (see its migration) returns.
    Indexed(Condition),
    /// A condition on the key and its user, read row by row: on SQLite for fewer than three
    /// characters (FTS5's trigram tokenizer matches no shorter phrase), and for a search holding
    /// a control character (the index joins the three fields with line breaks, so one would
    /// match across two fields).
    Scanned(Condition),
}

impl Found {
    fn of(backend: DbBackend, search: &str) -> Found {
        if search.is_empty() {
            return Found::Everything;
        }
        let lower = search.to_lowercase();
        let key_id = Expr::col((api_keys::Entity, api_keys::Column::Id));
        let indexable = !lower.chars().any(char::is_control);
        match backend {
            // pg_trgm answers `LIKE '%…%'` from the index for three characters or more, and
            // reads the (narrow) search table for fewer.
            DbBackend::Postgres if indexable => {
                let pattern = format!("%{}%", escape_like(&lower));
                let ids = Query::select()
                    .column(Alias::new("id"))
                    .from(Alias::new("api_key_search"))
                    .and_where(
                        Expr::col(Alias::new("text")).like(LikeExpr::new(pattern).escape('\\')),
                    )
                    .to_owned();
                Found::Indexed(Condition::all().add(key_id.in_subquery(ids)))
            }
            DbBackend::Sqlite if indexable && lower.chars().count() >= 3 => Found::Indexed(
                Condition::all()
                    .add(key_id.in_subquery(crate::db::trigram_matches("api_key_search", &lower))),
            ),
            _ => {
                let upper = format!("%{}%", escape_like(&search.to_uppercase()));
                Found::Scanned(
                    name_contains_scanned(&lower).add(
                        Expr::col((api_keys::Entity, api_keys::Column::ClientId))
                            .like(LikeExpr::new(&upper).escape('\\')),
                    ),
                )
            }
        }
    }

    /// The condition, on the key and its user.
    fn condition(&self) -> Condition {
        match self {
            Found::Everything => Condition::all(),
            Found::Indexed(c) | Found::Scanned(c) => c.clone(),
        }
    }
}

/// Where one page's keys are read from, in user-key order (`api_keys.user_key_lower`).
#[derive(Clone, PartialEq)]
enum Seek {
    /// Past the first `n` keys.
    FromStart(u64),
    /// Past the last `n` keys, reading backwards: the later half of the pages, so the last
    /// page is as quick to reach as the first.
    FromEnd(u64),
    /// The keys after this sort key (Next).
    After(String),
    /// The keys before this sort key, nearest first (Prev).
    Before(String),
}

impl Seek {
    /// How far in a page by number is read before the count is known: past a thousand keys a
    /// wrong guess (a page past the middle is read from the end, one past the last is the last)
    /// would cost more than the round trip it saves.
    const EARLY_LIMIT: u64 = 1_000;

    /// Where a page can be read from before the number of keys is known: Next and Prev seek
    /// from their key; a page by number near the start is read from the start.
    fn early(start: Option<PageStart>, requested: u64, per_page: u64) -> Option<Seek> {
        match start {
            Some(PageStart::After(key)) => Some(Seek::After(key)),
            Some(PageStart::Before(key)) => Some(Seek::Before(key)),
            None => {
                let skipped = requested.saturating_sub(1).saturating_mul(per_page);
                (skipped < Self::EARLY_LIMIT).then_some(Seek::FromStart(skipped))
            }
        }
    }

    /// Page `page` (in range) of `total` keys by its position.
    fn page(page: u64, total: u64, per_page: u64) -> (Seek, u64) {
        let skipped = (page - 1) * per_page;
        let end = Ord::min(skipped + per_page, total);
        if skipped > total / 2 {
            (Seek::FromEnd(total - end), end.saturating_sub(skipped))
        } else {
            (Seek::FromStart(skipped), per_page)
        }
    }
}

/// The ids of at most `limit` keys that `found` and `filtered` select, from `seek`. Chosen from
/// `api_keys` alone (its filter and sort-key indexes) unless the search needs the users'
/// columns, so only the page's own keys are joined to their users.
fn page_ids(
    backend: DbBackend,
    found: &Found,
    filtered: Condition,
    seek: &Seek,
    limit: u64,
) -> sea_orm::sea_query::SelectStatement {
    use sea_orm::sea_query::Order;
    let key = (api_keys::Entity, api_keys::Column::UserKeyLower);
    let mut matching = Query::select();
    matching
        .column((api_keys::Entity, api_keys::Column::Id))
        .from(api_keys::Entity);
    if let Found::Scanned(_) = found {
        matching.inner_join(
            users::Entity,
            Expr::col((users::Entity, users::Column::Id))
                .equals((api_keys::Entity, api_keys::Column::UserId)),
        );
    }
    matching.cond_where(found.condition()).cond_where(filtered);
    match seek {
        Seek::After(after) => matching.and_where(Expr::col(key).gt(after.as_str())),
        Seek::Before(before) => matching.and_where(Expr::col(key).lt(before.as_str())),
        Seek::FromStart(_) | Seek::FromEnd(_) => &mut matching,
    };
    // PostgreSQL estimates how many keys a search matches, not where they lie in user-key
    // order: it may walk the sort-key index, probing each key, until a page's worth matched,
    // which for matches late in the order reads most keys (measured at 100,000 keys: 78 ms
    // instead of 5). Behind `OFFSET 0`, a subquery PostgreSQL plans on its own, the matches are
    // found through the trigram index and only they are sorted; the count reads them all anyway.
    let (mut page, sort_key) =
        if backend == DbBackend::Postgres && matches!(found, Found::Indexed(_)) {
            matching.column(key).offset(0);
            let found = Alias::new("found");
            let mut page = Query::select();
            page.column((found.clone(), api_keys::Column::Id))
                .from_subquery(matching, found.clone());
            (page, Expr::col((found, api_keys::Column::UserKeyLower)))
        } else {
            (matching, Expr::col(key))
        };
    match seek {
        Seek::FromStart(n) => page.order_by_expr(sort_key, Order::Asc).offset(*n),
        Seek::FromEnd(n) => page.order_by_expr(sort_key, Order::Desc).offset(*n),
        Seek::After(_) => page.order_by_expr(sort_key, Order::Asc),
        Seek::Before(_) => page.order_by_expr(sort_key, Order::Desc),
    };
    page.limit(limit).to_owned()
}

/// A page's rows, and how many keys meet the condition the page's banner counts ("Expiring
/// soon"): one statement for both, the count a column of every row. `banner` is `None` when the
/// page has no rows to carry it.
struct PageRows {
    rows: Vec<ApiKeyRow>,
    banner: Option<u64>,
}

/// The keys `ids` names, each with its user, as [`ApiKeyRow`]s in user-key order, and the number
/// of keys meeting `banner`, a condition on `api_keys` alone. The count is an uncorrelated
/// subquery, which both databases evaluate once per statement, not per row; reading it here
/// spares the page a statement of its own (on PostgreSQL a round trip and a plan).
async fn read_rows(
    db: &impl ConnectionTrait,
    ids: sea_orm::sea_query::SelectStatement,
    banner: Condition,
) -> Result<PageRows, AppError> {
    use api_keys::Column as C;
    // In the order `RowAndCount::from_query_result` reads them back.
    let rows: Vec<RowAndCount> = api_keys::Entity::find()
        .inner_join(users::Entity)
        .select_only()
        .column(C::ClientId)
        .column(users::Column::UserKey)
        .column(users::Column::DisplayName)
        .column_as(users::Column::IsActive, "user_active")
        .columns([
            C::CreatedAt,
            C::CreatedBy,
            C::RegeneratedAt,
            C::RegeneratedBy,
            C::SecretGeneration,
            C::LastUsedAt,
            C::Description,
            C::ExpiresAt,
            C::IsActive,
        ])
        // The old secret's end only while it still has a hash (revoking clears the hash); CASE
        // without ELSE gives NULL otherwise.
        .column_as(
            Into::<Expr>::into(Expr::case(
                Expr::col((api_keys::Entity, C::PreviousSecretHash)).is_not_null(),
                Expr::col((api_keys::Entity, C::PreviousSecretExpiresAt)),
            )),
            "old_secret_until",
        )
        .columns([C::LastFailedAt, C::LastFailedReason])
        .expr_as(
            Expr::SubQuery(None, Box::new(count_query(banner).into())),
            "banner",
        )
        .filter(Expr::col((api_keys::Entity, C::Id)).in_subquery(ids))
        .order_by_asc(C::UserKeyLower)
        .into_model::<RowAndCount>()
        .all(db)
        .await?;
    let banner = rows.first().map(|first| count_of(first.1));
    Ok(PageRows {
        rows: rows.into_iter().map(|RowAndCount(row, _)| row).collect(),
        banner,
    })
}

/// A row of [`read_rows`]: the key's columns, then the banner's count.
struct RowAndCount(ApiKeyRow, i64);

impl sea_orm::FromQueryResult for RowAndCount {
    fn from_query_result(row: &sea_orm::QueryResult, _: &str) -> Result<Self, sea_orm::DbErr> {
        let mut columns = Columns { row, next: 0 };
        let key = ApiKeyRow::read(&mut columns)?;
        Ok(RowAndCount(key, columns.next()?))
    }
}

impl ApiKeyRow {
    /// A key's columns of a [`read_rows`] row, read by position in the order it selects (as
    /// `ApiKeyRow` declares its fields), not looked up by name: sixteen columns of a hundred rows
    /// on every page.
    fn read(columns: &mut Columns<'_>) -> Result<Self, sea_orm::DbErr> {
        // A struct expression evaluates its fields in the order written.
        Ok(ApiKeyRow {
            client_id: columns.next()?,
            user_key: columns.next()?,
            display_name: columns.next()?,
            user_active: columns.next()?,
            created_at: columns.next()?,
            created_by: columns.next()?,
            regenerated_at: columns.next()?,
            regenerated_by: columns.next()?,
            secret_generation: columns.next()?,
            last_used_at: columns.next()?,
            description: columns.next()?,
            expires_at: columns.next()?,
            is_active: columns.next()?,
            old_secret_until: columns.next()?,
            last_failed_at: columns.next()?,
            last_failed_reason: columns.next()?,
            used_by_credentials: false,
        })
    }
}

/// One row's columns, read in turn.
struct Columns<'a> {
    row: &'a sea_orm::QueryResult,
    next: usize,
}

impl Columns<'_> {
    fn next<T: sea_orm::TryGetable>(&mut self) -> Result<T, sea_orm::DbErr> {
        self.next += 1;
        self.row.try_get_by_index(self.next - 1)
    }
}

/// How many keys meet `condition`, a condition on `api_keys` alone (every key has a user, so
/// the join is not needed to count them).
async fn count_keys(db: &impl ConnectionTrait, condition: Condition) -> Result<u64, AppError> {
    let n: i64 = match db.query_one(&count_query(condition)).await? {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    Ok(count_of(n))
}

/// The statement counting the keys that meet `condition`: run alone ([`count_keys`]) or as a
/// subquery of the page's rows ([`read_rows`]).
fn count_query(condition: Condition) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(api_keys::Entity)
        .cond_where(condition)
        .to_owned()
}

/// A count as the database wrote it (never negative).
fn count_of(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// How many keys `found` and `filter` select, read from indexes and the stored total rather
/// than by counting every row where the filter allows.
async fn count_matching(
    db: &impl ConnectionTrait,
    found: &Found,
    filter: KeyFilter,
    now: DateTime<Utc>,
    window: FilterWindow,
    totals: StoredTotals,
) -> Result<u64, AppError> {
    use api_keys::Column as C;
    let filtered = filter_condition(db.get_database_backend(), filter, now, window);
    match (found, filter) {
        (Found::Scanned(condition), _) => Ok(api_keys::Entity::find()
            .inner_join(users::Entity)
            .filter(condition.clone())
            .filter(filtered)
            .count(db)
            .await?),
        (Found::Indexed(condition), _) => {
            count_keys(db, Condition::all().add(condition.clone()).add(filtered)).await
        }
        (Found::Everything, KeyFilter::All) => Ok(totals.keys),
        (Found::Everything, KeyFilter::NeverUsed) => Ok(totals.never_used),
        // Nearly every key is active: count the few that are not (inactive, or active and
        // expired; both read from the (is_active, expires_at) index) and subtract. The two
        // reads are independent: at once.
        (Found::Everything, KeyFilter::Active) => {
            let (inactive, expired) = futures::try_join!(
                count_keys(db, Condition::all().add(C::IsActive.eq(false))),
                count_keys(
                    db,
                    Condition::all()
                        .add(C::IsActive.eq(true))
                        .add(C::ExpiresAt.lte(now)),
                )
            )?;
            Ok(totals.keys.saturating_sub(inactive + expired))
        }
        (Found::Everything, _) => count_keys(db, filtered).await,
    }
}

/// A count `api_key_totals` keeps: its triggers count every insert, delete and first use in
/// the writing transaction, so reading it counts no rows.
#[derive(Clone, Copy)]
enum StoredTotal {
    Keys,
    NeverUsed,
}

impl StoredTotal {
    fn query(self) -> sea_orm::sea_query::SelectStatement {
        let column = match self {
            StoredTotal::Keys => "keys",
            StoredTotal::NeverUsed => "never_used",
        };
        Query::select()
            .column(Alias::new(column))
            .from(Alias::new("api_key_totals"))
            .and_where(Expr::col(Alias::new("id")).eq(1))
            .to_owned()
    }

    /// The count a [`query`](Self::query) read: `None` when `api_key_totals` lost its row.
    fn read(n: Option<i64>) -> Result<u64, AppError> {
        match n {
            Some(n) => Ok(count_of(n)),
            None => Err(AppError::logged("api_key_totals")("no row")),
        }
    }
}

/// Both stored totals, as one statement read them.
#[derive(Clone, Copy)]
struct StoredTotals {
    keys: u64,
    never_used: u64,
}

async fn stored_total(db: &impl ConnectionTrait, which: StoredTotal) -> Result<u64, AppError> {
    match db.query_one(&which.query()).await? {
        Some(row) => StoredTotal::read(row.try_get_by_index(0)?),
        None => StoredTotal::read(None),
    }
}

pub async fn list(db: &impl ConnectionTrait, query: KeyQuery) -> Result<ApiKeyPage, AppError> {
    list_at(db, query, Utc::now()).await
}

/// [`list`] as the clock reads `now`.
pub async fn list_at(
    db: &impl ConnectionTrait,
    query: KeyQuery,
    now: DateTime<Utc>,
) -> Result<ApiKeyPage, AppError> {
    let search = check_search(&query.search)?;
    let per_page = match query.per_page {
        0 => 10,
        n if super::PER_PAGE_CHOICES.contains(&n) => n,
        _ => {
            return Err(AppError::validation(
                "per_page",
                "Show 10, 20, 50 or 100 keys a page.",
            ))
        }
    };
    let PageContext {
        policy,
        credentials_client_id,
        totals,
    } = page_context(db).await?;
    let window = policy.window();
    let backend = db.get_database_backend();
    let found = Found::of(backend, &search);
    let filtered = || filter_condition(backend, query.filter, now, window);
    let expiring = || filter_condition(backend, KeyFilter::ExpiringSoon, now, window);
    let listing = async {
        // The page is read beside its count whenever it does not need the count to be chosen
        // (Next and Prev, and a numbered page near the start), so on PostgreSQL the list waits
        // for one round trip less, and a search's trigram lookups for count and page overlap.
        let early = Seek::early(query.start, query.page, per_page);
        let (total, early_rows) = futures::try_join!(
            count_matching(db, &found, query.filter, now, window, totals),
            async {
                match &early {
                    Some(seek) => read_rows(
                        db,
                        page_ids(backend, &found, filtered(), seek, per_page),
                        expiring(),
                    )
                    .await
                    .map(Some),
                    None => Ok(None),
                }
            }
        )?;
        let mut page = crate::db::page_in_range(query.page, total, per_page);
        // A Next or Prev link whose keys have gone meanwhile (none after it, or fewer than a
        // page before it) falls back to the page by number, or to the first. A page by number
        // read early stands if the count puts it where it was read from.
        let rows = match (early, early_rows) {
            (Some(Seek::After(_)), Some(rows)) if !rows.rows.is_empty() => Some(rows),
            (Some(Seek::Before(_)), Some(rows)) if rows.rows.len() as u64 == per_page => Some(rows),
            (Some(Seek::Before(_)), _) => {
                page = 1;
                None
            }
            (Some(early), Some(rows))
                if Seek::page(page, total, per_page) == (early.clone(), per_page) =>
            {
                Some(rows)
            }
            _ => None,
        };
        let rows = match rows {
            Some(rows) => rows,
            None => {
                let (seek, limit) = Seek::page(page, total, per_page);
                read_rows(
                    db,
                    page_ids(backend, &found, filtered(), &seek, limit),
                    expiring(),
                )
                .await?
            }
        };
        Ok::<_, AppError>((total, page, rows))
    };
    let (total, page, PageRows { rows, banner }) = listing.await?;
    // A page without rows had no row to bring the banner's count.
    let expiring_soon = match banner {
        Some(n) => n,
        None => count_keys(db, expiring()).await?,
    };
    let keys = rows
        .into_iter()
        .map(|mut row| {
            row.used_by_credentials =
                credentials_client_id.as_deref() == Some(row.client_id.as_str());
            row
        })
        .collect();
    Ok(ApiKeyPage {
        keys,
        total,
        page,
        per_page,
        now,
        expiring_soon,
        window,
        default_expiry: policy.default_choice(),
        max_lifetime_days: policy.max_lifetime_days,
    })
}

/// Users whose key or name contains `search`, for the Create API Key picker (at most 20).
pub async fn candidates(
    db: &impl ConnectionTrait,
    search: &str,
) -> Result<Vec<KeyCandidate>, AppError> {
    const SHOWN: u64 = 20;
    /// How many users, in user-key order, the first look reads.
    const FIRST_LOOK: u64 = 1_000;
    let search = check_search(search)?.to_lowercase();
    // A fragment most users share ("seed", a domain) would have the index return nearly every
    // user, all to be sorted for the first twenty. So the first look reads only the first
    // thousand users in user-key order: twenty matches there are the twenty shown. Fewer means
    // the matches are rare, and the index finds them all cheaply. The thousand are a derived
    // table named like the table, so the planner cannot move the names' test before the limit
    // (PostgreSQL did: it scanned every user).
    let backend = db.get_database_backend();
    let first_users = Query::select()
        .column(Asterisk)
        .from(users::Entity)
        .order_by(users::Column::UserKeyLower, Order::Asc)
        .limit(FIRST_LOOK)
        .to_owned();
    let first_look = Query::select()
        .column(Asterisk)
        .from_subquery(first_users, users::Entity)
        .and_where(Expr::col((users::Entity, users::Column::IsActive)).eq(true))
        .cond_where(name_contains_scanned(&search))
        .order_by((users::Entity, users::Column::UserKeyLower), Order::Asc)
        .limit(SHOWN)
        .to_owned();
    let mut found = users::Entity::find()
        .from_raw_sql(backend.build(&first_look))
        .all(db)
        .await?;
    if (found.len() as u64) < SHOWN {
        found = users::Entity::find()
            .filter(users::Column::IsActive.eq(true))
            .filter(name_contains(backend, &search))
            .order_by_asc(users::Column::UserKeyLower)
            .limit(SHOWN)
            .all(db)
            .await?;
    }
    let ids: Vec<i32> = found.iter().map(|u| u.id).collect();
    let with_keys: BTreeSet<i32> = api_keys::Entity::find()
        .filter(api_keys::Column::UserId.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|k| k.user_id)
        .collect();
    Ok(found
        .into_iter()
        .map(|u| KeyCandidate {
            has_key: with_keys.contains(&u.id),
            user_key: u.user_key,
            display_name: u.display_name,
        })
        .collect())
}

fn already_has_key(user_key: &str) -> AppError {
    AppError::Conflict(format!(
        "User with key {user_key} already has an API Key. Regenerate its Client Secret instead."
    ))
}

/// Creates the API key of `user_key`. A user has at most one; a second attempt (also one racing
/// this one) is refused with a clear message.
pub async fn create(
    db: &DatabaseConnection,
    hasher: &SecretHasher,
    actor: &Actor,
    user_key: &str,
) -> Result<IssuedKey, AppError> {
    create_with_details(
        db,
        hasher,
        actor,
        user_key,
        KeyDetails::default(),
        Utc::now(),
    )
    .await
}

/// Like [`create`], with a description and an expiry, checked at `now`.
pub async fn create_with_details(
    db: &DatabaseConnection,
    hasher: &SecretHasher,
    actor: &Actor,
    user_key: &str,
    details: KeyDetails,
    now: DateTime<Utc>,
) -> Result<IssuedKey, AppError> {
    let details = details.checked(now)?;
    crate::key_policy::service::load(db)
        .await?
        .allows(details.expires_at, now)?;
    let key =
        UserKey::parse(user_key).map_err(|_| AppError::validation("user_key", "Pick a user."))?;
    let secret = ClientSecret::generate()?;
    let secret_hash = hash_off_runtime(hasher, vec![secret]).await?;
    let (secret, secret_hash) = secret_hash.into_iter().next().ok_or(AppError::Internal)?;
    let client_id = new_client_id()?;
    let txn = begin_write(db).await?;
    let user = find_by_key(&txn, &key)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no user with key {key}.")))?;
    if !user.is_active {
        return Err(AppError::BadRequest(format!(
            "User {} is deactivated; reactivate them before creating an API Key.",
            user.user_key
        )));
    }
    if api_keys::Entity::find()
        .filter(api_keys::Column::UserId.eq(user.id))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(already_has_key(&user.user_key));
    }
    api_keys::ActiveModel {
        client_id: Set(client_id.clone()),
        user_id: Set(user.id),
        user_key_lower: Set(user.user_key_lower.clone()),
        secret_hash: Set(secret_hash),
        secret_generation: Set(1),
        created_at: Set(now),
        created_by: Set(actor.name.clone()),
        description: Set(details.description),
        expires_at: Set(details.expires_at),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| crate::db::conflict_or(e, || already_has_key(&user.user_key)))?;
    record(
        &txn,
        actor,
        action::CREATE,
        Some(&client_id),
        Outcome::Success,
        Some(format!("user: {}", user.user_key)),
    )
    .await?;
    txn.commit().await?;
    Ok(IssuedKey {
        user_key: user.user_key,
        client_id,
        client_secret: secret.into_inner(),
    })
}

/// Hashes secrets on a blocking thread: argon2id takes tens of milliseconds each.
async fn hash_off_runtime(
    hasher: &SecretHasher,
    secrets: Vec<ClientSecret>,
) -> Result<Vec<(ClientSecret, String)>, AppError> {
    let hasher = hasher.clone();
    tokio::task::spawn_blocking(move || {
        secrets
            .into_iter()
            .map(|s| hasher.hash(&s).map(|h| (s, h)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(AppError::logged("secret hashing task failed"))?
}

/// What a bulk operation needs of each key it acts on: five columns read, not the whole rows
/// (decoding 10,000 whole keys and users was most of a bulk operation's time).
struct Selected {
    id: i32,
    client_id: String,
    secret_generation: i32,
    is_active: bool,
    user_key: String,
}

type SelectedRow = (i32, String, i32, bool, String);

/// The keys that meet `condition` (on the key and its user), as [`Selected`].
async fn select_keys(
    db: &impl ConnectionTrait,
    condition: Condition,
) -> Result<Vec<Selected>, AppError> {
    use api_keys::Column as C;
    let rows: Vec<SelectedRow> = api_keys::Entity::find()
        .inner_join(users::Entity)
        .select_only()
        .column(C::Id)
        .column(C::ClientId)
        .column(C::SecretGeneration)
        .column(C::IsActive)
        .column(users::Column::UserKey)
        .filter(condition)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, client_id, secret_generation, is_active, user_key)| Selected {
                id,
                client_id,
                secret_generation,
                is_active,
                user_key,
            },
        )
        .collect())
}

/// How many keys `selection` names, checked as [`resolve`] checks it but without reading
/// them: what to generate secrets for before the transaction.
async fn selection_size(
    db: &impl ConnectionTrait,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    match selection {
        Selection::Ids(_) => Ok(resolve(db, selection, now).await?.len()),
        Selection::AllMatching {
            search,
            filter,
            expected,
        } => {
            let search = check_search(search)?;
            let context = page_context(db).await?;
            let found = Found::of(db.get_database_backend(), &search);
            let window = context.policy.window();
            let n = count_matching(db, &found, *filter, now, window, context.totals).await?;
            check_all_matching(n, *expected)?;
            usize::try_from(n).map_err(AppError::logged("selection size"))
        }
    }
}

/// "All" matched `found` keys when the administrator confirmed `expected`.
fn check_all_matching(found: u64, expected: u64) -> Result<(), AppError> {
    if found != expected {
        return Err(AppError::Conflict(format!(
            "The API Keys matching your search changed: there are now {found}, you confirmed {expected}. Nothing was changed; review the list and try again."
        )));
    }
    if found == 0 {
        return Err(AppError::validation(
            "selection",
            "No API Keys match this search.",
        ));
    }
    Ok(())
}

/// The keys a selection names, resolved inside the caller's transaction. All of them must
/// exist; otherwise nothing happens and the answer says which are gone.
async fn resolve(
    txn: &impl ConnectionTrait,
    selection: &Selection,
    now: DateTime<Utc>,
) -> Result<Vec<Selected>, AppError> {
    match selection {
        Selection::Ids(ids) => {
            if ids.is_empty() {
                return Err(AppError::validation(
                    "selection",
                    "Select at least one API Key.",
                ));
            }
            if ids.len() > super::MAX_SELECTION {
                return Err(AppError::validation(
                    "selection",
                    format!(
                        "Select at most {} API Keys at once, or use All.",
                        super::MAX_SELECTION
                    ),
                ));
            }
            let wanted: BTreeSet<ClientId> = ids
                .iter()
                .map(|id| ClientId::parse(id))
                .collect::<Result<_, _>>()?;
            let wanted: Vec<String> = wanted
                .into_iter()
                .map(|id| id.as_str().to_string())
                .collect();
            let mut found = Vec::with_capacity(wanted.len());
            for chunk in wanted.chunks(CHUNK) {
                found.extend(
                    select_keys(
                        txn,
                        Condition::all().add(api_keys::Column::ClientId.is_in(chunk.to_vec())),
                    )
                    .await?,
                );
            }
            if found.len() != wanted.len() {
                let present: BTreeSet<&str> = found.iter().map(|k| k.client_id.as_str()).collect();
                let gone: Vec<&str> = wanted
                    .iter()
                    .map(String::as_str)
                    .filter(|id| !present.contains(id))
                    .collect();
                let shown: Vec<&str> = gone.iter().take(3).copied().collect();
                return Err(AppError::NotFound(format!(
                    "{} no longer exist{} ({}{}). Nothing was changed.",
                    super::plural_keys(gone.len() as u64),
                    if gone.len() == 1 { "s" } else { "" },
                    shown.join(", "),
                    if gone.len() > 3 { ", …" } else { "" },
                )));
            }
            Ok(found)
        }
        Selection::AllMatching {
            search,
            filter,
            expected,
        } => {
            let search = check_search(search)?;
            let window = window(txn).await?;
            let found = select_keys(
                txn,
                Condition::all()
                    .add(Found::of(txn.get_database_backend(), &search).condition())
                    .add(filter_condition(
                        txn.get_database_backend(),
                        *filter,
                        now,
                        window,
                    )),
            )
            .await?;
            check_all_matching(found.len() as u64, *expected)?;
            Ok(found)
        }
    }
}

/// Deletes the selected keys, all or none. Returns how many were deleted.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Actor,
    selection: Selection,
) -> Result<u64, AppError> {
    let txn = begin_write(db).await?;
    let keys = resolve(&txn, &selection, Utc::now()).await?;
    let ids: Vec<i32> = keys.iter().map(|k| k.id).collect();
    for chunk in ids.chunks(CHUNK) {
        api_keys::Entity::delete_many()
            .filter(api_keys::Column::Id.is_in(chunk.to_vec()))
            .exec(&txn)
            .await?;
    }
    record_many(
        &txn,
        actor,
        action::DELETE,
        Outcome::Success,
        keys.iter()
            .map(|k| (k.client_id.clone(), Some(format!("user: {}", k.user_key)))),
    )
    .await?;
    txn.commit().await?;
    Ok(keys.len() as u64)
}

/// Gives every selected key a new Client Secret, all or none; the old secrets stop working at
/// once. Returns the new secrets, to be shown once.
pub async fn regenerate(
    db: &DatabaseConnection,
    hasher: &SecretHasher,
    actor: &Actor,
    selection: Selection,
) -> Result<Vec<IssuedKey>, AppError> {
    regenerate_with_grace(db, hasher, actor, selection, Duration::zero(), Utc::now()).await
}

/// Like [`regenerate`], with the old secret still working for `grace` after `now` (zero: it
/// stops at once). A key keeps at most two live secrets: an old secret from an earlier
/// regeneration stops now.
pub async fn regenerate_with_grace(
    db: &DatabaseConnection,
    hasher: &SecretHasher,
    actor: &Actor,
    selection: Selection,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<IssuedKey>, AppError> {
    // Count first (cheap), hash outside the transaction, then write in one transaction that
    // reads the keys and checks them again.
    let count = selection_size(db, &selection, now).await?;
    let secrets = (0..count)
        .map(|_| ClientSecret::generate())
        .collect::<Result<Vec<_>, _>>()?;
    let hashed = hash_off_runtime(hasher, secrets).await?;
    let txn = begin_write(db).await?;
    let keys = resolve(&txn, &selection, now).await?;
    if keys.len() != hashed.len() {
        return Err(AppError::Conflict(
            "The selected API Keys changed while their secrets were being generated. Nothing was changed; try again.".into(),
        ));
    }
    let (secrets, hashes): (Vec<_>, Vec<_>) = hashed.into_iter().unzip();
    let keys: Vec<_> = keys.into_iter().zip(hashes).collect();
    for chunk in keys.chunks(ROTATE_CHUNK) {
        rotate_many(&txn, actor, chunk, grace, now).await?;
    }
    let issued: Vec<IssuedKey> = keys
        .into_iter()
        .zip(secrets)
        .map(|((key, _), secret)| IssuedKey {
            user_key: key.user_key,
            client_id: key.client_id,
            client_secret: secret.into_inner(),
        })
        .collect();
    record_many(
        &txn,
        actor,
        action::REGENERATE,
        Outcome::Success,
        issued
            .iter()
            .map(|k| (k.client_id.clone(), Some(format!("user: {}", k.user_key)))),
    )
    .await?;
    txn.commit().await?;
    Ok(issued)
}

/// Keys a multi-row rotation sets at once: three parameters a key.
const ROTATE_CHUNK: usize = 500;

/// [`rotate`] for many keys in one statement: each gets its new hash if its secret is still the
/// generation read; if any was regenerated or deleted meanwhile, the answer says so and the
/// caller's transaction changes nothing.
async fn rotate_many(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    keys: &[(Selected, String)],
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use sea_orm::{DbBackend, Statement, Value};
    let backend = txn.get_database_backend();
    let mut values: Vec<Value> = Vec::with_capacity(keys.len() * 3 + 3);
    let mut next = 0usize;
    let mut param = |value: Value, values: &mut Vec<Value>| {
        values.push(value);
        next += 1;
        match backend {
            DbBackend::Postgres => format!("${next}"),
            _ => "?".to_string(),
        }
    };
    let rows: Vec<String> = keys
        .iter()
        .map(|(key, hash)| {
            let id = param(key.id.into(), &mut values);
            let generation = param(key.secret_generation.into(), &mut values);
            let hash = param(hash.clone().into(), &mut values);
            format!("(CAST({id} AS INTEGER), CAST({generation} AS INTEGER), {hash})")
        })
        .collect();
    let (previous, until) = if grace > Duration::zero() {
        ("api_keys.secret_hash", Some(now + grace))
    } else {
        ("NULL", None)
    };
    let until = param(until.into(), &mut values);
    let at = param(Some(now).into(), &mut values);
    let by = param(Some(actor.name.clone()).into(), &mut values);
    let values_list = rows.join(", ");
    let sql = match backend {
        DbBackend::Postgres => format!(
            "WITH v(id, generation, hash) AS (VALUES {values_list}) \
             UPDATE api_keys SET previous_secret_hash = {previous}, \
             previous_secret_expires_at = {until}, secret_hash = v.hash, \
             secret_generation = v.generation + 1, regenerated_at = {at}, regenerated_by = {by} \
             FROM v WHERE api_keys.id = v.id AND api_keys.secret_generation = v.generation"
        ),
        // With statistics, SQLite plans `UPDATE … FROM v` as a scan of every key probing v
        // (3.3 s for 10,000 keys at a million); written this way it looks the keys up by id.
        _ => format!(
            "WITH v(id, generation, hash) AS (VALUES {values_list}) \
             UPDATE api_keys SET previous_secret_hash = {previous}, \
             previous_secret_expires_at = {until}, \
             secret_hash = (SELECT v.hash FROM v WHERE v.id = api_keys.id), \
             secret_generation = secret_generation + 1, regenerated_at = {at}, \
             regenerated_by = {by} \
             WHERE api_keys.id IN (SELECT id FROM v) \
             AND (api_keys.id, api_keys.secret_generation) IN (SELECT id, generation FROM v)"
        ),
    };
    let changed = txn
        .execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    if changed.rows_affected() == keys.len() as u64 {
        return Ok(());
    }
    // Someone else got to at least one of them: name the first.
    let ids: Vec<i32> = keys.iter().map(|(k, _)| k.id).collect();
    let now_stored: std::collections::BTreeMap<i32, api_keys::Model> = api_keys::Entity::find()
        .filter(api_keys::Column::Id.is_in(ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    for (key, _) in keys {
        match now_stored.get(&key.id) {
            None => {
                return Err(AppError::NotFound(format!(
                    "The API Key with Client Id {} was deleted meanwhile. Nothing was changed.",
                    key.client_id
                )))
            }
            // The ones this statement changed are one generation on.
            Some(k) if k.secret_generation != key.secret_generation + 1 => {
                return Err(regenerated_meanwhile(k))
            }
            Some(_) => {}
        }
    }
    Err(AppError::Conflict(
        "The selected API Keys changed meanwhile. Nothing was changed; try again.".into(),
    ))
}

/// Gives `key` the secret `hash` if its secret is still generation `seen`: of two
/// administrators regenerating one key at once, exactly one wins, and the other is told who
/// and when. The current secret keeps working for `grace` (an older one stops now).
async fn rotate(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    key: &api_keys::Model,
    seen: i32,
    hash: String,
    grace: Duration,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use api_keys::Column as C;
    let (previous, previous_until) = if grace > Duration::zero() {
        (Some(key.secret_hash.clone()), Some(now + grace))
    } else {
        (None, None)
    };
    let changed = api_keys::Entity::update_many()
        .col_expr(C::PreviousSecretHash, Expr::value(previous))
        .col_expr(C::PreviousSecretExpiresAt, Expr::value(previous_until))
        .col_expr(C::SecretHash, Expr::value(hash))
        .col_expr(C::SecretGeneration, Expr::value(seen + 1))
        .col_expr(C::RegeneratedAt, Expr::value(Some(now)))
        .col_expr(C::RegeneratedBy, Expr::value(Some(actor.name.clone())))
        .filter(C::Id.eq(key.id))
        .filter(C::SecretGeneration.eq(seen))
        .exec(txn)
        .await?;
    if changed.rows_affected == 1 {
        return Ok(());
    }
    let now_stored = api_keys::Entity::find_by_id(key.id).one(txn).await?;
    Err(match now_stored {
        None => AppError::NotFound(format!(
            "The API Key with Client Id {} was deleted meanwhile. Nothing was changed.",
            key.client_id
        )),
        Some(k) => regenerated_meanwhile(&k),
    })
}

fn regenerated_meanwhile(key: &api_keys::Model) -> AppError {
    AppError::Conflict(format!(
        "{} regenerated this Client Secret at {} while you were confirming. Nothing was changed: \
         the secret they were shown is the current one.",
        key.regenerated_by.as_deref().unwrap_or("Someone"),
        key.regenerated_at.map_or_else(String::new, |at| at
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string()),
    ))
}

/// The answer of [`regenerate_key`].
pub struct Regenerated {
    pub issued: IssuedKey,
    /// The Xray Credentials were updated with the new secret (in the same transaction).
    pub credentials_updated: bool,
}

/// What the row's Regenerate Client Secret asks for one key.
pub struct RegenerateOne<'a> {
    pub client_id: &'a str,
    /// The secret the administrator saw (`None`: whatever is current).
    pub seen_generation: Option<i32>,
    /// How long the current secret keeps working.
    pub grace: Duration,
    /// The rotation handshake: also seal the new secret into the Xray Credentials when they
    /// hold this key, in the same transaction (if they cannot be updated, nothing changes).
    pub update_credentials: Option<&'a crate::vault::MasterKey>,
}

/// Regenerates one key's secret, as the row's dialog asks.
pub async fn regenerate_key(
    db: &DatabaseConnection,
    hasher: &SecretHasher,
    actor: &Actor,
    request: RegenerateOne<'_>,
    now: DateTime<Utc>,
) -> Result<Regenerated, AppError> {
    let RegenerateOne {
        client_id,
        seen_generation,
        grace,
        update_credentials,
    } = request;
    let secret = ClientSecret::generate()?;
    let hashed = hash_off_runtime(hasher, vec![secret]).await?;
    let (secret, hash) = hashed.into_iter().next().ok_or(AppError::Internal)?;
    let txn = begin_write(db).await?;
    let key = find_key(&txn, client_id, true).await?;
    let seen = seen_generation.unwrap_or(key.secret_generation);
    if seen != key.secret_generation {
        return Err(regenerated_meanwhile(&key));
    }
    let user = users::Entity::find_by_id(key.user_id).one(&txn).await?;
    let user_key = user.map(|u| u.user_key).unwrap_or_default();
    rotate(&txn, actor, &key, seen, hash, grace, now).await?;
    record(
        &txn,
        actor,
        action::REGENERATE,
        Some(&key.client_id),
        Outcome::Success,
        Some(format!("user: {user_key}")),
    )
    .await?;
    let credentials_updated = match update_credentials {
        Some(master_key) => {
            crate::credentials::service::reseal_for_key(
                &txn,
                master_key,
                actor,
                &key.client_id,
                secret.expose(),
            )
            .await?
        }
        None => false,
    };
    txn.commit().await?;
    Ok(Regenerated {
        issued: IssuedKey {
            user_key,
            client_id: key.client_id,
            client_secret: secret.into_inner(),
        },
        credentials_updated,
    })
}

/// Deactivates, reactivates or sets the expiry of every selected key, all or none; one audit
/// entry per key changed.
pub async fn bulk_change(
    db: &DatabaseConnection,
    actor: &Actor,
    selection: Selection,
    change: BulkChange,
    now: DateTime<Utc>,
) -> Result<super::BulkResult, AppError> {
    use api_keys::Column as C;
    let expiry = match change {
        BulkChange::SetExpiry(choice) => {
            let details = KeyDetails {
                description: String::new(),
                expires_at: choice.at(now)?,
            }
            .checked(now)?;
            crate::key_policy::service::load(db)
                .await?
                .allows(details.expires_at, now)?;
            Some(details.expires_at)
        }
        _ => None,
    };
    let txn = begin_write(db).await?;
    let keys = resolve(&txn, &selection, now).await?;
    let (to_change, unchanged): (Vec<_>, Vec<_>) = keys.into_iter().partition(|k| match change {
        BulkChange::Deactivate => k.is_active,
        BulkChange::Reactivate => !k.is_active,
        BulkChange::SetExpiry(_) => true,
    });
    if to_change.is_empty() {
        return Err(AppError::Conflict(
            match change {
                BulkChange::Deactivate => "The selected API Keys were already inactive",
                _ => "The selected API Keys were already active",
            }
            .into(),
        ));
    }
    let ids: Vec<i32> = to_change.iter().map(|k| k.id).collect();
    for chunk in ids.chunks(CHUNK) {
        let update = api_keys::Entity::update_many().filter(C::Id.is_in(chunk.to_vec()));
        let update = match (change, expiry) {
            (BulkChange::Deactivate, _) => update
                .col_expr(C::IsActive, Expr::value(false))
                .col_expr(C::DeactivatedAt, Expr::value(Some(now)))
                .col_expr(C::DeactivatedBy, Expr::value(Some(actor.name.clone()))),
            (BulkChange::Reactivate, _) => update.col_expr(C::IsActive, Expr::value(true)),
            (BulkChange::SetExpiry(_), at) => {
                update.col_expr(C::ExpiresAt, Expr::value(at.flatten()))
            }
        };
        update.exec(&txn).await?;
    }
    let (what, detail) = match (change, expiry.flatten()) {
        (BulkChange::Deactivate, _) => (action::DEACTIVATE, None),
        (BulkChange::Reactivate, _) => (action::REACTIVATE, None),
        (BulkChange::SetExpiry(_), Some(at)) => {
            (action::EDIT, Some(format!("expires: {}", at.to_rfc3339())))
        }
        (BulkChange::SetExpiry(_), None) => (action::EDIT, Some("expires: never".to_string())),
    };
    record_many(
        &txn,
        actor,
        what,
        Outcome::Success,
        to_change
            .iter()
            .map(|key| (key.client_id.clone(), detail.clone())),
    )
    .await?;
    txn.commit().await?;
    Ok(super::BulkResult {
        changed: to_change.len() as u64,
        unchanged: unchanged.len() as u64,
    })
}

/// A key's description and expiry as stored.
pub async fn details(db: &impl ConnectionTrait, client_id: &str) -> Result<KeyDetails, AppError> {
    let key = find_key(db, client_id, false).await?;
    Ok(KeyDetails {
        description: key.description,
        expires_at: key.expires_at,
    })
}

/// The key with `client_id`; `for_change`: locked until `db`'s transaction ends (PostgreSQL).
async fn find_key(
    db: &impl ConnectionTrait,
    client_id: &str,
    for_change: bool,
) -> Result<api_keys::Model, AppError> {
    let id = ClientId::parse(client_id)?;
    let mut query = api_keys::Entity::find().filter(api_keys::Column::ClientId.eq(id.as_str()));
    if for_change {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no API Key with Client Id {id}.")))
}

/// Deactivates (`active` false) or reactivates a key. Deactivation ends every token issued so far,
/// for good: a reactivated key needs new tokens. Asking for the state a key is in changes nothing.
pub async fn set_active(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
    active: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = begin_write(db).await?;
    let key = find_key(&txn, client_id, true).await?;
    if key.is_active == active {
        return Err(AppError::Conflict(
            if active {
                "API key was already active"
            } else {
                "API key was already inactive"
            }
            .into(),
        ));
    }
    let client_id = key.client_id.clone();
    let mut change: api_keys::ActiveModel = key.into();
    change.is_active = Set(active);
    if !active {
        change.deactivated_at = Set(Some(now));
        change.deactivated_by = Set(Some(actor.name.clone()));
    }
    change.update(&txn).await?;
    let what = if active {
        action::REACTIVATE
    } else {
        action::DEACTIVATE
    };
    record(&txn, actor, what, Some(&client_id), Outcome::Success, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Changes a key's description and expiry, checked as [`KeyDetails::checked`] says.
pub async fn edit_details(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
    details: KeyDetails,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = begin_write(db).await?;
    let key = find_key(&txn, client_id, true).await?;
    // An unchanged expiry (even a past one, or one a stricter policy would refuse) may stay
    // while the description changes: only a change is held to the rules.
    let details = if details.expires_at == key.expires_at {
        let expires_at = details.expires_at;
        KeyDetails {
            expires_at: None,
            ..details
        }
        .checked(now)
        .map(|d| KeyDetails { expires_at, ..d })?
    } else {
        let details = details.checked(now)?;
        crate::key_policy::service::load(&txn)
            .await?
            .allows(details.expires_at, now)?;
        details
    };
    let client_id = key.client_id.clone();
    let expiry = details
        .expires_at
        .map_or_else(|| "never".to_string(), |at| at.to_rfc3339());
    let mut change: api_keys::ActiveModel = key.into();
    change.description = Set(details.description);
    change.expires_at = Set(details.expires_at);
    change.update(&txn).await?;
    record(
        &txn,
        actor,
        action::EDIT,
        Some(&client_id),
        Outcome::Success,
        Some(format!("expires: {expiry}")),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Ends a running grace period now: the old secret and the tokens it issued stop working.
pub async fn revoke_old_secret(
    db: &DatabaseConnection,
    actor: &Actor,
    client_id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = begin_write(db).await?;
    let key = find_key(&txn, client_id, true).await?;
    let running = key.previous_secret_hash.is_some()
        && key.previous_secret_expires_at.is_some_and(|end| now < end);
    if !running {
        return Err(AppError::Conflict("No old secret is active".into()));
    }
    let client_id = key.client_id.clone();
    let mut change: api_keys::ActiveModel = key.into();
    change.previous_secret_hash = Set(None);
    change.previous_secret_expires_at = Set(None);
    change.update(&txn).await?;
    record(
        &txn,
        actor,
        action::REVOKE_OLD_SECRET,
        Some(&client_id),
        Outcome::Success,
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Counts keys; used by tests and the seeding command.
pub async fn count(db: &impl ConnectionTrait) -> Result<u64, AppError> {
    stored_total(db, StoredTotal::Keys).await
}

/// Whether `candidate` is the current secret of `client_id` (used by the authentication API).
pub async fn verify_secret(
    db: &impl ConnectionTrait,
    hasher: &SecretHasher,
    client_id: &str,
    candidate: &str,
) -> Result<bool, AppError> {
    let id = ClientId::parse(client_id)?;
    let key = api_keys::Entity::find()
        .filter(api_keys::Column::ClientId.eq(id.as_str()))
        .one(db)
        .await?;
    Ok(key.is_some_and(|k| hasher.verify(candidate, &k.secret_hash)))
}

/// Creates `count` users named `seed-NNNNNN` (from `start`) each with an API key, in batches.
/// For development and benchmarks; the secrets are discarded.
pub async fn seed(
    db: &DatabaseConnection,
    hasher: &SecretHasher,
    start: u64,
    count: u64,
) -> Result<u64, AppError> {
    const BATCH: u64 = 1000;
    let now = Utc::now();
    let mut made = 0;
    while made < count {
        let n = Ord::min(BATCH, count - made);
        let first = start + made;
        let txn = begin_write(db).await?;
        let new_users: Vec<users::ActiveModel> = (first..first + n)
            .map(|i| {
                let key = format!("seed-{i:06}");
                users::ActiveModel {
                    user_key_lower: Set(key.clone()),
                    display_name: Set(format!("Seed User {i}")),
                    display_name_lower: Set(format!("seed user {i}")),
                    user_key: Set(key),
                    email: Set(None),
                    is_active: Set(true),
                    is_administrator: Set(false),
                    is_backup_operator: Set(false),
                    password_hash: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
            })
            .collect();
        // The new users' ids come back from the insert itself. Looked up by key afterwards,
        // each batch took longer than the one before on PostgreSQL (4 s a batch at 177,000
        // users; a million did not finish in an hour).
        let made_users = users::Entity::insert_many(new_users)
            .exec_with_returning(&txn)
            .await?;
        let mut new_keys = Vec::with_capacity(made_users.len());
        for user in made_users {
            let secret = ClientSecret::generate()?;
            new_keys.push(api_keys::ActiveModel {
                client_id: Set(new_client_id()?),
                user_id: Set(user.id),
                user_key_lower: Set(user.user_key_lower),
                secret_hash: Set(hasher.hash(&secret)?),
                secret_generation: Set(1),
                created_at: Set(now),
                created_by: Set("seed".into()),
                ..Default::default()
            });
        }
        api_keys::Entity::insert_many(new_keys).exec(&txn).await?;
        txn.commit().await?;
        made += n;
    }
    Ok(made)
}
