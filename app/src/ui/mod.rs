//! The parts pages share, so that no page imports from another: notices, dialogs, the role
//! guard, the heading row and pagination, the user picker, the secret field, and the address
//! and list-query helpers.

pub mod dialog;
pub mod guard;
pub mod notice;
pub mod page;
pub mod picker;
pub mod secret;
pub mod url;
