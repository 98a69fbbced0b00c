//! Signing-key rotation at the IdP: both keys published, new tokens carry the new `kid`.

use tapgate_e2e::{DevIdp, DevIdpOptions, Person, jwt_kid};

#[test]
fn after_rotate_key_the_jwks_lists_both_keys_and_new_tokens_use_the_new_kid() {
    let idp = DevIdp::start(DevIdpOptions::default());
    let person = Person::new();
    idp.enroll("alice@example.com", "dba", &person.key);
    person.configure(&idp, "alice@example.com", "");
    person.tapgate(&["login"]).expect_ok();
    let old_kid = jwt_kid(&person.token());
    assert_eq!(idp.jwks_kids(), vec![old_kid.clone()]);

    idp.rotate_key();
    let kids = idp.jwks_kids();
    assert_eq!(kids.len(), 2, "old key still published: {kids:?}");
    assert!(kids.contains(&old_kid));

    person.tapgate(&["login", "--force"]).expect_ok();
    let new_kid = jwt_kid(&person.token());
    assert_ne!(new_kid, old_kid);
    assert!(kids.contains(&new_kid), "new kid {new_kid} is published: {kids:?}");
}
