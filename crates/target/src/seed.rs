//! The seeded organizations and users, like the Prisma seed of the user-service: 30 named
//! organizations with 1-3 users each, every password `password123`.
//!
//! Everything here is a pure function of the seed (`--seed`, default [`DEFAULT_SEED`]): the
//! same seed gives the same ids, names, e-mails and roles on every machine, so tests and
//! scenarios can rely on them. Only the timestamps depend on when the server starts. Quotes,
//! policies and claims are not seeded: the traffic creates them, as in the real deployment.

use uuid::Uuid;

use crate::rng::SplitMix64;
use crate::store::enums::{OrgRole, UserRole};

/// The default `--seed`.
pub const DEFAULT_SEED: u64 = 20_240_601;

/// Every seeded user's password.
pub const SEED_PASSWORD: &str = "password123";

/// Organizations seeded.
pub const SEED_ORGANIZATIONS: usize = 30;

const ORG_NAMES: [&str; SEED_ORGANIZATIONS] = [
    "Acme Insurance",
    "Summit Mutual",
    "Harborview Assurance",
    "Pioneer Risk Partners",
    "Bluewater Underwriters",
    "Northstar Indemnity",
    "Redwood Casualty",
    "Keystone Coverage Group",
    "Silverline Life",
    "Evergreen Health Plans",
    "Granite State Insurance",
    "Lighthouse Property & Casualty",
    "Meridian Auto Insurance",
    "Copperfield Benefits",
    "Oakridge Home Protection",
    "Atlas Commercial Lines",
    "Crescent Bay Insurance",
    "Prairie Farm Mutual",
    "Cascade Health Alliance",
    "Ironclad Business Cover",
    "Sunrise Family Insurance",
    "Beacon Hill Assurance",
    "Riverbend Insurance Co",
    "Highland Life & Annuity",
    "Coastal Shield Insurance",
    "Frontier Fleet Cover",
    "Maple Leaf Underwriting",
    "Horizon Health Partners",
    "Stonebridge Specialty",
    "Liberty Square Insurance",
];

const PLANS: [&str; 4] = ["free", "starter", "professional", "enterprise"];

const FIRST_NAMES: [&str; 40] = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Margaret",
    "Steven",
    "Sandra",
    "Paul",
    "Ashley",
    "Andrew",
    "Emily",
    "Joshua",
    "Donna",
    "Kevin",
    "Michelle",
    "Brian",
    "Carol",
];

const LAST_NAMES: [&str; 30] = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
];

const STREETS: [&str; 10] = [
    "Main St",
    "Oak Ave",
    "Pine St",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Washington Blvd",
    "Lake Rd",
    "Hill St",
    "Park Ave",
];

const CITIES: [(&str, &str, &str); 10] = [
    ("Boston", "MA", "02108"),
    ("Denver", "CO", "80202"),
    ("Austin", "TX", "78701"),
    ("Seattle", "WA", "98101"),
    ("Chicago", "IL", "60601"),
    ("Atlanta", "GA", "30303"),
    ("Phoenix", "AZ", "85004"),
    ("Portland", "OR", "97204"),
    ("Nashville", "TN", "37203"),
    ("Columbus", "OH", "43215"),
];

/// A seeded organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOrg {
    /// Id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// URL slug (unique).
    pub slug: String,
    /// free, starter, professional or enterprise.
    pub plan: &'static str,
}

/// A seeded user (password [`SEED_PASSWORD`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedUser {
    /// Id.
    pub id: Uuid,
    /// E-mail (unique), `first.last@<slug>.com`.
    pub email: String,
    /// First name.
    pub first_name: &'static str,
    /// Last name.
    pub last_name: &'static str,
    /// The first user of an organization is ADMIN; the others AGENT or CUSTOMER.
    pub role: UserRole,
    /// OWNER for the first user, ADMIN or MEMBER for the others.
    pub org_role: OrgRole,
    /// Index into [`Seed::organizations`].
    pub org_index: usize,
    /// Date of birth (ms since the epoch, midnight UTC).
    pub date_of_birth: i64,
    /// Phone number.
    pub phone: String,
    /// Street address.
    pub street: String,
    /// City.
    pub city: &'static str,
    /// State.
    pub state: &'static str,
    /// ZIP code.
    pub zip_code: &'static str,
}

/// The whole seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seed {
    /// The organizations, in creation order.
    pub organizations: Vec<SeedOrg>,
    /// The users, in creation order (grouped by organization).
    pub users: Vec<SeedUser>,
}

impl Seed {
    /// The seed data for `seed`.
    pub fn generate(seed: u64) -> Seed {
        let mut rng = SplitMix64::new(seed);
        let mut organizations = Vec::with_capacity(SEED_ORGANIZATIONS);
        let mut users = Vec::new();
        for (org_index, name) in ORG_NAMES.iter().enumerate() {
            let slug = slugify(name);
            let org = SeedOrg {
                id: rng.uuid(),
                name: (*name).to_string(),
                slug: slug.clone(),
                plan: rng.pick(&PLANS).copied().unwrap_or("free"),
            };
            let count = 1 + rng.below(3) as usize;
            let mut taken: Vec<(&str, &str)> = Vec::with_capacity(count);
            for k in 0..count {
                let (first, last) = distinct_name(&mut rng, &taken);
                taken.push((first, last));
                let (role, org_role) = if k == 0 {
                    (UserRole::Admin, OrgRole::Owner)
                } else if rng.below(2) == 0 {
                    (UserRole::Agent, OrgRole::Admin)
                } else {
                    (UserRole::Customer, OrgRole::Member)
                };
                let (city, state, zip) = CITIES[rng.below(CITIES.len() as u64) as usize];
                // 1950-01-01 plus up to ~50 years, in whole days.
                let dob_days = rng.below(50 * 365) as i64;
                users.push(SeedUser {
                    id: rng.uuid(),
                    email: format!(
                        "{}.{}@{slug}.com",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ),
                    first_name: first,
                    last_name: last,
                    role,
                    org_role,
                    org_index,
                    date_of_birth: -631_152_000_000 + dob_days * 86_400_000,
                    phone: format!("+1-555-{:04}", rng.below(10_000)),
                    street: format!(
                        "{} {}",
                        100 + rng.below(9_900),
                        STREETS[rng.below(STREETS.len() as u64) as usize]
                    ),
                    city,
                    state,
                    zip_code: zip,
                });
            }
            organizations.push(org);
        }
        Seed {
            organizations,
            users,
        }
    }
}

/// A (first, last) pair not yet used in this organization (e-mails must be unique).
fn distinct_name(rng: &mut SplitMix64, taken: &[(&str, &str)]) -> (&'static str, &'static str) {
    loop {
        let first = FIRST_NAMES[rng.below(FIRST_NAMES.len() as u64) as usize];
        let last = LAST_NAMES[rng.below(LAST_NAMES.len() as u64) as usize];
        if !taken.contains(&(first, last)) {
            return (first, last);
        }
    }
}

/// "Lighthouse Property & Casualty" → "lighthouse-property-casualty".
pub fn slugify(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn thirty_orgs_with_one_to_three_users_each() {
        let seed = Seed::generate(DEFAULT_SEED);
        assert_eq!(seed.organizations.len(), 30);
        for i in 0..30 {
            let n = seed.users.iter().filter(|u| u.org_index == i).count();
            assert!((1..=3).contains(&n), "org {i} has {n} users");
        }
        let emails: HashSet<_> = seed.users.iter().map(|u| &u.email).collect();
        assert_eq!(emails.len(), seed.users.len());
        let slugs: HashSet<_> = seed.organizations.iter().map(|o| &o.slug).collect();
        assert_eq!(slugs.len(), 30);
        assert!(seed.users.iter().any(|u| u.role == UserRole::Agent));
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(Seed::generate(1), Seed::generate(1));
        assert_ne!(Seed::generate(1), Seed::generate(2));
    }

    #[test]
    fn slugs() {
        assert_eq!(
            slugify("Lighthouse Property & Casualty"),
            "lighthouse-property-casualty"
        );
        assert_eq!(slugify("  A  b "), "a-b");
    }
}
