//! `fake(kind)`: realistic-looking data from the `fake` crate, drawn from the user's own
//! seeded RNG so a run with a fixed `seed:` is reproducible.

use fake::Fake;
use fake::faker::address::en::{
    BuildingNumber, CityName, CountryName, StreetName, StreetSuffix, ZipCode,
};
use fake::faker::company::en::CompanyName;
use fake::faker::internet::en::{Password, SafeEmail, Username};
use fake::faker::lorem::en::{Paragraph, Sentence, Word};
use fake::faker::name::en::{FirstName, LastName, Name};
use fake::faker::phone_number::en::PhoneNumber;
use rand::RngExt;

/// Every kind `fake()` accepts, for validation and "did you mean" hints.
pub(crate) const KINDS: &[&str] = &[
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "street",
    "city",
    "zip",
    "country",
    "company",
    "word",
    "sentence",
    "paragraph",
    "username",
    "password",
];

/// One fake value of `kind`, or `None` for an unknown kind.
pub(crate) fn fake<R: RngExt + ?Sized>(kind: &str, rng: &mut R) -> Option<String> {
    let street = |rng: &mut R| {
        let number: String = BuildingNumber().fake_with_rng(rng);
        let name: String = StreetName().fake_with_rng(rng);
        let suffix: String = StreetSuffix().fake_with_rng(rng);
        format!("{number} {name} {suffix}")
    };
    Some(match kind {
        "name" => Name().fake_with_rng(rng),
        "first_name" => FirstName().fake_with_rng(rng),
        "last_name" => LastName().fake_with_rng(rng),
        "email" => SafeEmail().fake_with_rng(rng),
        "phone" => PhoneNumber().fake_with_rng(rng),
        "street" => street(rng),
        "address" => {
            let street = street(rng);
            let city: String = CityName().fake_with_rng(rng);
            let zip: String = ZipCode().fake_with_rng(rng);
            format!("{street}, {city} {zip}")
        }
        "city" => CityName().fake_with_rng(rng),
        "zip" => ZipCode().fake_with_rng(rng),
        "country" => CountryName().fake_with_rng(rng),
        "company" => CompanyName().fake_with_rng(rng),
        "word" => Word().fake_with_rng(rng),
        "sentence" => Sentence(4..10).fake_with_rng(rng),
        "paragraph" => Paragraph(3..6).fake_with_rng(rng),
        "username" => Username().fake_with_rng(rng),
        "password" => Password(12..17).fake_with_rng(rng),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    #[test]
    fn every_kind_produces_text() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for k in KINDS {
            let v = fake(k, &mut rng).unwrap_or_default();
            assert!(!v.is_empty(), "{k}");
        }
        assert!(fake("email", &mut rng).is_some_and(|e| e.contains('@')));
        assert_eq!(fake("nope", &mut rng), None);
    }

    #[test]
    fn same_seed_same_values() {
        let mut a = Xoshiro256PlusPlus::seed_from_u64(7);
        let mut b = Xoshiro256PlusPlus::seed_from_u64(7);
        for k in KINDS {
            assert_eq!(fake(k, &mut a), fake(k, &mut b));
        }
    }
}
