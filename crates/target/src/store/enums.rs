//! The contract's upper-case enums. Parsing is exact (`"active"` is not `ACTIVE`), like
//! Prisma's enum columns.

use serde::{Serialize, Serializer};

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in the contract's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value's text, in the contract's order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The upper-case text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Exact parse of the upper-case text.
            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// PolicyType (also the type of a quote).
    PolicyType {
        /// Car.
        Auto = "AUTO",
        /// Home.
        Home = "HOME",
        /// Life.
        Life = "LIFE",
        /// Health.
        Health = "HEALTH",
        /// Business.
        Business = "BUSINESS",
    }
);

string_enum!(
    /// PolicyStatus.
    PolicyStatus {
        /// In force.
        Active = "ACTIVE",
        /// Past its end date.
        Expired = "EXPIRED",
        /// Cancelled.
        Cancelled = "CANCELLED",
        /// Not yet in force (the default on creation).
        Pending = "PENDING",
    }
);

string_enum!(
    /// ClaimStatus.
    ClaimStatus {
        /// Filed.
        Submitted = "SUBMITTED",
        /// Being reviewed.
        UnderReview = "UNDER_REVIEW",
        /// Approved (with an amount).
        Approved = "APPROVED",
        /// Denied (with a reason); terminal.
        Denied = "DENIED",
        /// Paid; terminal.
        Paid = "PAID",
    }
);

impl ClaimStatus {
    /// The claims state machine: SUBMITTED→{UNDER_REVIEW, DENIED}, UNDER_REVIEW→{APPROVED,
    /// DENIED}, APPROVED→{PAID}; DENIED and PAID are terminal.
    pub fn can_become(self, to: ClaimStatus) -> bool {
        use ClaimStatus::*;
        matches!(
            (self, to),
            (Submitted, UnderReview)
                | (Submitted, Denied)
                | (UnderReview, Approved)
                | (UnderReview, Denied)
                | (Approved, Paid)
        )
    }
}

string_enum!(
    /// QuoteStatus.
    QuoteStatus {
        /// Open.
        Active = "ACTIVE",
        /// Past `expiresAt` (set by `POST /quotes/expire-old` or a status update).
        Expired = "EXPIRED",
        /// Turned into a policy.
        Converted = "CONVERTED",
    }
);

string_enum!(
    /// UserRole.
    UserRole {
        /// Administrator.
        Admin = "ADMIN",
        /// Insurance agent.
        Agent = "AGENT",
        /// Customer.
        Customer = "CUSTOMER",
    }
);

string_enum!(
    /// OrgRole.
    OrgRole {
        /// Owner of the organization.
        Owner = "OWNER",
        /// Organization administrator.
        Admin = "ADMIN",
        /// Member.
        Member = "MEMBER",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_is_exact_and_round_trips() {
        for s in ClaimStatus::ALL {
            assert_eq!(ClaimStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(PolicyType::parse("auto"), None);
        assert_eq!(PolicyType::parse("AUTO"), Some(PolicyType::Auto));
        assert_eq!(PolicyStatus::NAMES.len(), 4);
    }

    #[test]
    fn claim_transitions() {
        use ClaimStatus::*;
        let allowed: Vec<(ClaimStatus, ClaimStatus)> = ClaimStatus::ALL
            .iter()
            .flat_map(|a| ClaimStatus::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Submitted, UnderReview),
                (Submitted, Denied),
                (UnderReview, Approved),
                (UnderReview, Denied),
                (Approved, Paid)
            ]
        );
    }
}
