//! Organizations and users: the user-service's records and their JSON.
//!
//! The [`Directory`](super::directory::Directory) holds them; this module has the types and
//! their renderings (`UserView` with or without `orgRole`, `OrgView` with or without
//! `_count`).

use std::collections::VecDeque;

use serde::Serialize;
use uuid::Uuid;

use super::enums::{OrgRole, UserRole};
use crate::time::iso;

/// A user (the password is kept only as a salted SHA-256).
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: Uuid,
    /// E-mail (unique).
    pub email: String,
    pub(super) password_hash: [u8; 32],
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Role.
    pub role: UserRole,
    /// Role in the organization.
    pub org_role: OrgRole,
    /// Organization.
    pub organization_id: Uuid,
    /// Profile fields.
    pub profile: Profile,
    /// Created, ms.
    pub created_at: i64,
    /// Updated, ms.
    pub updated_at: i64,
    pub(super) seeded: bool,
}

/// The optional profile fields of a user (`PUT /users/:id` changes them).
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Date of birth, ms.
    pub date_of_birth: Option<i64>,
    /// Phone.
    pub phone: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State.
    pub state: Option<String>,
    /// ZIP code.
    pub zip_code: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// An organization.
#[derive(Debug, Clone)]
pub struct Org {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Slug (unique).
    pub slug: String,
    /// Plan.
    pub plan: String,
    /// Created, ms.
    pub created_at: i64,
    /// Updated, ms.
    pub updated_at: i64,
    pub(super) members: VecDeque<Uuid>,
    pub(super) seeded: bool,
}

impl Org {
    /// Number of users.
    pub fn user_count(&self) -> usize {
        self.members.len()
    }
}

/// Why a directory change was refused (the messages are the contract's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirError {
    /// Register with a taken e-mail.
    #[error("User already exists")]
    UserExists,
    /// Register into an unknown organization.
    #[error("Organization not found")]
    OrgNotFound,
    /// Create or rename to a taken slug.
    #[error("Organization slug already exists")]
    SlugExists,
    /// Delete an organization that still has users.
    #[error("Cannot delete organization with existing users")]
    HasUsers,
    /// No such user.
    #[error("User not found")]
    UserNotFound,
}

/// A registration.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// E-mail.
    pub email: String,
    /// Password (hashed before it is stored).
    pub password: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Organization.
    pub organization_id: Uuid,
    /// Role (default CUSTOMER).
    pub role: UserRole,
    /// Role in the organization (default MEMBER).
    pub org_role: OrgRole,
}

/// A user as JSON. `with_org_role` selects the auth form (login, register, me) over the
/// list form of `/users`, which has no `orgRole`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView<'a> {
    id: Uuid,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    role: UserRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    org_role: Option<OrgRole>,
    organization_id: Uuid,
    date_of_birth: Option<String>,
    phone: Option<&'a str>,
    street: Option<&'a str>,
    city: Option<&'a str>,
    state: Option<&'a str>,
    zip_code: Option<&'a str>,
    country: Option<&'a str>,
    created_at: String,
    updated_at: String,
}

impl<'a> UserView<'a> {
    /// The view of `u`.
    pub fn of(u: &'a User, with_org_role: bool) -> UserView<'a> {
        let p = &u.profile;
        UserView {
            id: u.id,
            email: &u.email,
            first_name: &u.first_name,
            last_name: &u.last_name,
            role: u.role,
            org_role: with_org_role.then_some(u.org_role),
            organization_id: u.organization_id,
            date_of_birth: p.date_of_birth.map(iso),
            phone: p.phone.as_deref(),
            street: p.street.as_deref(),
            city: p.city.as_deref(),
            state: p.state.as_deref(),
            zip_code: p.zip_code.as_deref(),
            country: p.country.as_deref(),
            created_at: iso(u.created_at),
            updated_at: iso(u.updated_at),
        }
    }
}

#[derive(Serialize)]
struct Count {
    users: usize,
}

/// An organization as JSON, with or without `_count`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgView<'a> {
    id: Uuid,
    name: &'a str,
    slug: &'a str,
    plan: &'a str,
    created_at: String,
    updated_at: String,
    #[serde(rename = "_count", skip_serializing_if = "Option::is_none")]
    count: Option<Count>,
}

impl<'a> OrgView<'a> {
    /// The view of `o`.
    pub fn of(o: &'a Org, with_count: bool) -> OrgView<'a> {
        OrgView {
            id: o.id,
            name: &o.name,
            slug: &o.slug,
            plan: &o.plan,
            created_at: iso(o.created_at),
            updated_at: iso(o.updated_at),
            count: with_count.then_some(Count {
                users: o.members.len(),
            }),
        }
    }
}
