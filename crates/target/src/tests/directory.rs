//! Users and organizations (4.3): the seeded data and the unauthenticated lists.

use serde_json::json;

use super::{T, assert_key_order, is_iso_millis};

#[tokio::test]
async fn users_list_every_seeded_user_without_secrets() {
    let t = T::new();
    let r = t.req("GET", "/api/v1/users", None, None).await;
    assert_eq!(r.status, 200);
    let v = r.json();
    assert!(v.get("pagination").is_none());
    let users = v["data"].as_array().unwrap();
    assert_eq!(users.len(), t.state.seed().users.len());
    assert!((30..=90).contains(&users.len()));
    for u in users {
        assert!(
            u.get("password").is_none() && u.get("orgRole").is_none(),
            "{u}"
        );
        assert!(["ADMIN", "AGENT", "CUSTOMER"].contains(&u["role"].as_str().unwrap()));
        assert!(u["email"].as_str().unwrap().contains('@'));
        assert!(is_iso_millis(&u["createdAt"]));
    }
    assert_key_order(
        &r.text,
        &[
            "id",
            "email",
            "firstName",
            "lastName",
            "role",
            "organizationId",
            "dateOfBirth",
            "phone",
            "street",
            "city",
            "state",
            "zipCode",
            "country",
            "createdAt",
            "updatedAt",
        ],
    );
    // Every listed user logs in with password123 (what the agents do at start-up).
    for u in users.iter().take(5) {
        let r = t
            .req(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"email": u["email"], "password": "password123"})),
            )
            .await;
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn seed_is_deterministic_per_seed_flag() {
    let a = T::new()
        .req("GET", "/api/v1/users", None, None)
        .await
        .data();
    let b = T::new()
        .req("GET", "/api/v1/users", None, None)
        .await
        .data();
    let ids = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| format!("{}{}", u["id"], u["email"]))
            .collect()
    };
    assert_eq!(ids(&a), ids(&b));
    let c = T::with(crate::TargetConfig {
        seed: 7,
        ..crate::TargetConfig::default()
    });
    let c = c.req("GET", "/api/v1/users", None, None).await.data();
    assert_ne!(ids(&a), ids(&c));
}

#[tokio::test]
async fn organizations_list_newest_first_with_user_counts() {
    let t = T::new();
    let r = t.req("GET", "/api/v1/organizations", None, None).await;
    let orgs = r.data();
    let orgs = orgs.as_array().unwrap();
    assert_eq!(orgs.len(), 30);
    assert_key_order(
        &r.text,
        &[
            "id",
            "name",
            "slug",
            "plan",
            "createdAt",
            "updatedAt",
            "_count",
            "users",
        ],
    );
    let created: Vec<&str> = orgs
        .iter()
        .map(|o| o["createdAt"].as_str().unwrap())
        .collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted);
    for o in orgs {
        let n = o["_count"]["users"].as_u64().unwrap();
        assert!((1..=3).contains(&n));
    }
    // The last listed is the first seeded.
    assert_eq!(
        orgs[29]["id"],
        t.state.seed().organizations[0].id.to_string()
    );
}

#[tokio::test]
async fn organization_routes() {
    let t = T::new();
    let org = &t.state.seed().organizations[0];
    let id = org.id.to_string();
    let v = t
        .req("GET", &format!("/api/v1/organizations/{id}"), None, None)
        .await
        .data();
    assert_eq!(v["slug"], org.slug.as_str());
    let v = t
        .req(
            "GET",
            &format!("/api/v1/organizations/slug/{}", org.slug),
            None,
            None,
        )
        .await
        .data();
    assert_eq!(v["id"], id.as_str());
    let users = t
        .req(
            "GET",
            &format!("/api/v1/organizations/{id}/users"),
            None,
            None,
        )
        .await
        .data();
    assert_eq!(users.as_array().unwrap().len(), t.users_of(0).len());
    let stats = t
        .req(
            "GET",
            &format!("/api/v1/organizations/{id}/stats"),
            None,
            None,
        )
        .await
        .data();
    assert_eq!(stats["totalUsers"], t.users_of(0).len());
    assert_eq!(stats["usersByRole"]["ADMIN"], 1);
    assert_eq!(stats["organization"]["id"], id.as_str());
    let r = t
        .req(
            "PATCH",
            &format!("/api/v1/organizations/{id}"),
            None,
            Some(json!({"plan": "enterprise"})),
        )
        .await;
    assert_eq!(r.data()["plan"], "enterprise");
    let other = &t.state.seed().organizations[1].slug;
    let r = t
        .req(
            "PATCH",
            &format!("/api/v1/organizations/{id}"),
            None,
            Some(json!({"slug": other})),
        )
        .await;
    assert_eq!(r.error(400), "Organization slug already exists");
    let r = t
        .req("DELETE", &format!("/api/v1/organizations/{id}"), None, None)
        .await;
    assert_eq!(
        r.error(400),
        "Cannot delete organization with existing users"
    );
    for path in [
        "/api/v1/organizations/not-a-uuid".to_string(),
        format!("/api/v1/organizations/{}", uuid::Uuid::new_v4()),
        "/api/v1/organizations/slug/nope".to_string(),
    ] {
        let r = t.req("GET", &path, None, None).await;
        assert_eq!(r.error(404), "Organization not found");
    }
}

#[tokio::test]
async fn user_routes() {
    let t = T::new();
    let u = &t.users_of(3)[0];
    let path = format!("/api/v1/users/{}", u.id);
    let v = t.req("GET", &path, None, None).await.data();
    assert_eq!(v["email"], u.email.as_str());
    let v = t
        .req(
            "PUT",
            &path,
            None,
            Some(json!({"city": "Reno", "dateOfBirth": "1980-05-01"})),
        )
        .await
        .data();
    assert_eq!(v["city"], "Reno");
    assert_eq!(v["dateOfBirth"], "1980-05-01T00:00:00.000Z");
    assert_eq!(
        t.req("GET", "/api/v1/users/nope", None, None)
            .await
            .error(404),
        "User not found"
    );
}
