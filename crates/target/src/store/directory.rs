//! The directory: organizations and users, the user-service's data.
//!
//! One `RwLock`ed [`Directory`] in the [`Store`](super::Store): logins and the unauthenticated
//! lists only read it; registrations and organization changes are rare writes. Bounded like
//! everything else: at most `max_organizations` organizations and `max_users` users per
//! organization; past a cap the oldest non-seeded one goes (seeded ones stay, so the bundled
//! scenarios can always log in).

use std::collections::{HashMap, VecDeque};

use ring::digest;
use uuid::Uuid;

use super::users::{DirError, NewUser, Org, Profile, User};
use crate::seed::{SEED_PASSWORD, Seed};

/// Organizations and users.
#[derive(Debug)]
pub struct Directory {
    orgs: HashMap<Uuid, Org>,
    org_order: VecDeque<Uuid>,
    slugs: HashMap<String, Uuid>,
    users: HashMap<Uuid, User>,
    user_order: VecDeque<Uuid>,
    emails: HashMap<String, Uuid>,
    max_orgs: usize,
    max_users: usize,
}

fn hash_password(id: Uuid, password: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(id.as_bytes());
    ctx.update(password.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl Directory {
    /// The seeded directory. Organizations are created one second apart an hour before
    /// `start_ms`, each user right after its organization.
    pub fn from_seed(seed: &Seed, start_ms: i64, max_orgs: usize, max_users: usize) -> Directory {
        let mut dir = Directory {
            orgs: HashMap::new(),
            org_order: VecDeque::new(),
            slugs: HashMap::new(),
            users: HashMap::new(),
            user_order: VecDeque::new(),
            emails: HashMap::new(),
            max_orgs: max_orgs.max(seed.organizations.len()),
            max_users: max_users.max(1),
        };
        let base = start_ms - 3_600_000;
        for (i, o) in seed.organizations.iter().enumerate() {
            let at = base + i as i64 * 1000;
            dir.slugs.insert(o.slug.clone(), o.id);
            dir.org_order.push_back(o.id);
            dir.orgs.insert(
                o.id,
                Org {
                    id: o.id,
                    name: o.name.clone(),
                    slug: o.slug.clone(),
                    plan: o.plan.to_string(),
                    created_at: at,
                    updated_at: at,
                    members: VecDeque::new(),
                    seeded: true,
                },
            );
        }
        for (k, u) in seed.users.iter().enumerate() {
            let Some(org) = seed.organizations.get(u.org_index) else {
                continue;
            };
            let at = base + u.org_index as i64 * 1000 + 1 + k as i64 % 1000;
            let user = User {
                id: u.id,
                email: u.email.clone(),
                password_hash: hash_password(u.id, SEED_PASSWORD),
                first_name: u.first_name.to_string(),
                last_name: u.last_name.to_string(),
                role: u.role,
                org_role: u.org_role,
                organization_id: org.id,
                profile: Profile {
                    date_of_birth: Some(u.date_of_birth),
                    phone: Some(u.phone.clone()),
                    street: Some(u.street.clone()),
                    city: Some(u.city.to_string()),
                    state: Some(u.state.to_string()),
                    zip_code: Some(u.zip_code.to_string()),
                    country: Some("USA".to_string()),
                },
                created_at: at,
                updated_at: at,
                seeded: true,
            };
            dir.add_user(user);
        }
        dir
    }

    fn add_user(&mut self, user: User) {
        if let Some(org) = self.orgs.get_mut(&user.organization_id) {
            org.members.push_back(user.id);
        }
        self.emails.insert(user.email.clone(), user.id);
        self.user_order.push_back(user.id);
        self.users.insert(user.id, user);
    }

    fn forget_user(&mut self, id: Uuid) -> Option<User> {
        let user = self.users.remove(&id)?;
        self.emails.remove(&user.email);
        if let Some(pos) = self.user_order.iter().position(|x| *x == id) {
            self.user_order.remove(pos);
        }
        if let Some(org) = self.orgs.get_mut(&user.organization_id)
            && let Some(pos) = org.members.iter().position(|x| *x == id)
        {
            org.members.remove(pos);
        }
        Some(user)
    }

    /// The user with these credentials.
    pub fn login(&self, email: &str, password: &str) -> Option<&User> {
        let user = self.users.get(self.emails.get(email)?)?;
        (hash_password(user.id, password) == user.password_hash).then_some(user)
    }

    /// Registers a user; past the organization's cap its oldest non-seeded user is removed.
    pub fn register(&mut self, new: NewUser, id: Uuid, now: i64) -> Result<&User, DirError> {
        if self.emails.contains_key(&new.email) {
            return Err(DirError::UserExists);
        }
        let org = self
            .orgs
            .get(&new.organization_id)
            .ok_or(DirError::OrgNotFound)?;
        if org.members.len() >= self.max_users {
            let oldest = org
                .members
                .iter()
                .find(|m| self.users.get(m).is_some_and(|u| !u.seeded))
                .copied();
            if let Some(old) = oldest {
                self.forget_user(old);
            }
        }
        self.add_user(User {
            id,
            email: new.email,
            password_hash: hash_password(id, &new.password),
            first_name: new.first_name,
            last_name: new.last_name,
            role: new.role,
            org_role: new.org_role,
            organization_id: new.organization_id,
            profile: Profile::default(),
            created_at: now,
            updated_at: now,
            seeded: false,
        });
        self.users.get(&id).ok_or(DirError::UserNotFound)
    }

    /// A user by id.
    pub fn user(&self, id: &Uuid) -> Option<&User> {
        self.users.get(id)
    }

    /// Every user, oldest first.
    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.user_order.iter().filter_map(|id| self.users.get(id))
    }

    /// The users of an organization, oldest first.
    pub fn members(&self, org: &Org) -> impl Iterator<Item = &User> {
        org.members.iter().filter_map(|id| self.users.get(id))
    }

    /// Changes a user's profile through `change`.
    pub fn update_user(
        &mut self,
        id: &Uuid,
        now: i64,
        change: impl FnOnce(&mut User),
    ) -> Option<&User> {
        let user = self.users.get_mut(id)?;
        change(user);
        user.updated_at = now;
        Some(user)
    }

    /// Deletes a user.
    pub fn delete_user(&mut self, id: Uuid) -> Result<(), DirError> {
        self.forget_user(id)
            .map(|_| ())
            .ok_or(DirError::UserNotFound)
    }

    /// Creates an organization; past the cap the oldest non-seeded one goes, with its users.
    pub fn create_org(
        &mut self,
        id: Uuid,
        name: String,
        slug: String,
        plan: String,
        now: i64,
    ) -> Result<&Org, DirError> {
        if self.slugs.contains_key(&slug) {
            return Err(DirError::SlugExists);
        }
        if self.orgs.len() >= self.max_orgs {
            let oldest = self
                .org_order
                .iter()
                .find(|o| self.orgs.get(o).is_some_and(|o| !o.seeded))
                .copied();
            if let Some(old) = oldest {
                let members: Vec<Uuid> = self
                    .orgs
                    .get(&old)
                    .map(|o| o.members.iter().copied().collect())
                    .unwrap_or_default();
                for m in members {
                    self.forget_user(m);
                }
                self.remove_org(old);
            }
        }
        self.slugs.insert(slug.clone(), id);
        self.org_order.push_back(id);
        self.orgs.insert(
            id,
            Org {
                id,
                name,
                slug,
                plan,
                created_at: now,
                updated_at: now,
                members: VecDeque::new(),
                seeded: false,
            },
        );
        self.orgs.get(&id).ok_or(DirError::OrgNotFound)
    }

    fn remove_org(&mut self, id: Uuid) {
        if let Some(org) = self.orgs.remove(&id) {
            self.slugs.remove(&org.slug);
        }
        if let Some(pos) = self.org_order.iter().position(|x| *x == id) {
            self.org_order.remove(pos);
        }
    }

    /// An organization by id.
    pub fn org(&self, id: &Uuid) -> Option<&Org> {
        self.orgs.get(id)
    }

    /// An organization by slug.
    pub fn org_by_slug(&self, slug: &str) -> Option<&Org> {
        self.orgs.get(self.slugs.get(slug)?)
    }

    /// Every organization, newest first.
    pub fn orgs_newest_first(&self) -> impl Iterator<Item = &Org> {
        self.org_order
            .iter()
            .rev()
            .filter_map(|id| self.orgs.get(id))
    }

    /// `PATCH /organizations/:id`. `None` when there is no such organization.
    pub fn update_org(
        &mut self,
        id: &Uuid,
        name: Option<String>,
        slug: Option<String>,
        plan: Option<String>,
        now: i64,
    ) -> Option<Result<&Org, DirError>> {
        let current = self.orgs.get(id)?;
        if let Some(s) = &slug
            && *s != current.slug
            && self.slugs.contains_key(s)
        {
            return Some(Err(DirError::SlugExists));
        }
        let old_slug = current.slug.clone();
        let org = self.orgs.get_mut(id)?;
        if let Some(n) = name {
            org.name = n;
        }
        if let Some(p) = plan {
            org.plan = p;
        }
        if let Some(s) = slug {
            org.slug = s;
        }
        org.updated_at = now;
        let new_slug = org.slug.clone();
        if new_slug != old_slug {
            self.slugs.remove(&old_slug);
            self.slugs.insert(new_slug, *id);
        }
        self.orgs.get(id).map(Ok)
    }

    /// `DELETE /organizations/:id`. `None` when there is no such organization.
    pub fn delete_org(&mut self, id: &Uuid) -> Option<Result<(), DirError>> {
        let org = self.orgs.get(id)?;
        if !org.members.is_empty() {
            return Some(Err(DirError::HasUsers));
        }
        self.remove_org(*id);
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::DEFAULT_SEED;
    use crate::store::enums::{OrgRole, UserRole};

    fn dir(max_orgs: usize, max_users: usize) -> (Directory, Seed) {
        let seed = Seed::generate(DEFAULT_SEED);
        (Directory::from_seed(&seed, 0, max_orgs, max_users), seed)
    }

    fn new_user(email: &str, org: Uuid) -> NewUser {
        NewUser {
            email: email.into(),
            password: "pw".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            organization_id: org,
            role: UserRole::Customer,
            org_role: OrgRole::Member,
        }
    }

    #[test]
    fn seeded_users_log_in_with_password123() {
        let (d, seed) = dir(100, 100);
        for u in &seed.users {
            assert!(d.login(&u.email, "password123").is_some());
            assert!(d.login(&u.email, "password124").is_none());
        }
        assert_eq!(d.users().count(), seed.users.len());
        assert_eq!(d.orgs_newest_first().count(), 30);
    }

    #[test]
    fn register_is_bounded_per_org_and_keeps_seeded_users() {
        let (mut d, seed) = dir(100, 4);
        let org = seed.organizations[0].id;
        let seeded = d.org(&org).unwrap().user_count();
        for i in 0..10 {
            d.register(new_user(&format!("u{i}@x.com"), org), Uuid::new_v4(), i)
                .unwrap();
        }
        assert_eq!(d.org(&org).unwrap().user_count(), 4);
        assert!(d.login("u9@x.com", "pw").is_some());
        assert!(d.login("u0@x.com", "pw").is_none());
        let org_users: Vec<_> = d.members(d.org(&org).unwrap()).collect();
        assert_eq!(org_users.iter().filter(|u| u.seeded).count(), seeded);
        assert_eq!(
            d.register(new_user("u9@x.com", org), Uuid::new_v4(), 0)
                .map(|u| u.id),
            Err(DirError::UserExists)
        );
        assert_eq!(
            d.register(new_user("z@x.com", Uuid::nil()), Uuid::new_v4(), 0)
                .map(|u| u.id),
            Err(DirError::OrgNotFound)
        );
    }

    #[test]
    fn organizations_are_bounded_and_slugs_unique() {
        let (mut d, _) = dir(31, 10);
        for i in 0..5 {
            d.create_org(
                Uuid::new_v4(),
                format!("O{i}"),
                format!("o{i}"),
                "free".into(),
                i,
            )
            .unwrap();
        }
        assert_eq!(d.orgs_newest_first().count(), 31);
        assert!(d.org_by_slug("o4").is_some());
        assert!(d.org_by_slug("o3").is_none());
        assert_eq!(
            d.create_org(Uuid::new_v4(), "X".into(), "o4".into(), "free".into(), 9)
                .map(|o| o.id),
            Err(DirError::SlugExists)
        );
    }

    #[test]
    fn delete_org_refuses_while_it_has_users() {
        let (mut d, seed) = dir(100, 10);
        let org = seed.organizations[0].id;
        assert_eq!(d.delete_org(&org), Some(Err(DirError::HasUsers)));
        let members: Vec<Uuid> = d.members(d.org(&org).unwrap()).map(|u| u.id).collect();
        for m in members {
            d.delete_user(m).unwrap();
        }
        assert_eq!(d.delete_org(&org), Some(Ok(())));
        assert_eq!(d.delete_org(&org), None);
    }
}
