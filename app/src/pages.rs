//! Top-level pages. Feature pages live in their own modules and are re-exported here.

pub use crate::api_keys::page::ApiKeysPage;
pub use crate::audit::page::AuditPage;
pub use crate::auth::page::{LoginPage, SetupPage};
pub use crate::credentials::page::XrayCredentialsPage;
pub use crate::key_policy::page::KeyPolicyPage;
pub use crate::standin::page::StandinPage;
pub use crate::users::page::UsersPage;
pub use crate::xray_backups::page::XrayBackupsPage;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::{lazy_route, Lazy, LazyRoute};

use crate::ui::page::PageHeader;

/// A page whose code the browser fetches only when the page is first shown: with `cargo leptos
/// build --split` its WASM is a chunk of its own (shared code in shared chunks), so signing in
/// does not download the API Keys table. The page loads its own data as before; on a first,
/// server-rendered visit that data arrives with the HTML, so only a client-side navigation waits
/// for the chunk before asking for data.
macro_rules! lazy_page {
    ($($route:ident shows $page:ident;)*) => {$(
        #[doc = concat!("The lazily loaded route of [`", stringify!($page), "`].")]
        pub struct $route;

        impl $route {
            /// The route's view, for `<Route view=… />`.
            pub fn lazily() -> Lazy<Self> {
                Lazy::new()
            }
        }

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                view! { <$page /> }.into_any()
            }
        }
    )*};
}

// Home, sign-in, first-run setup and "not found" stay in the main chunk: they are what a first
// visit shows, and they are small.
lazy_page! {
    ApiKeysRoute shows ApiKeysPage;
    KeyPolicyRoute shows KeyPolicyPage;
    XrayCredentialsRoute shows XrayCredentialsPage;
    XrayBackupsRoute shows XrayBackupsPage;
    UsersRoute shows UsersPage;
    StandinRoute shows StandinPage;
    AuditRoute shows AuditPage;
}

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Overview" />
        <PageHeader
            title="Overview"
            lead="Issue and hold the credentials that let tools reach the Xray REST API."
        />
        <div class="card-grid">
            <OverviewCard
                href="/api-keys"
                title="API Keys"
                text="Create a Client Id and Client Secret for a user, regenerate or delete them. For administrators."
            />
            <OverviewCard
                href="/xray-credentials"
                title="Xray Credentials"
                text="The Client ID and Client secret that backup jobs use to reach the Xray API. For backup operators."
            />
            <OverviewCard
                href="/xray-backups"
                title="Xray Backups"
                text="Back up Xray test data on a schedule with the stored credentials: health, history and downloads."
            />
            <OverviewCard
                href="/users"
                title="Users"
                text="The people and service accounts that can own an API key or sign in here."
            />
            <OverviewCard
                href="/audit"
                title="Audit"
                text="Who did what, and when: sign-ins, user changes, key and credential operations."
            />
        </div>
    }
}

#[component]
fn OverviewCard(href: &'static str, title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <section class="card">
            <h2 class="card__title">
                <A href=href>{title}</A>
            </h2>
            <p>{text}</p>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <PageHeader title="Page not found" />
        <div class="notice notice--warning">
            <p>
                "There is no page at this address. It may have moved, or the link may be mistyped."
            </p>
            <p>
                <A href="/">"Go to the overview"</A>
            </p>
        </div>
    }
}
