//! Configuration mistakes are refused with one line naming the file, the line and the key.

use tapgate_e2e::Person;

#[test]
fn an_unknown_key_is_refused_with_file_line_and_key() {
    let person = Person::new();
    person.write_config(&format!(
        "[idp.{}]\nissuer = \"https://localhost:8443\"\nclient_id = \"tapgate\"\nusername = \"alice@example.com\"\nissuer_url = \"https://x\"\n",
        person.idp_name
    ));
    let line = person.tapgate(&["login"]).expect_one_line_failure();
    let expected = format!("{}:5: idp.{}.issuer_url", person.config.display(), person.idp_name);
    assert!(line.contains(&expected), "{line}");
}

#[test]
fn a_missing_config_file_says_where_it_looked() {
    let person = Person::new();
    let run = person.tapgate(&["whoami"]);
    let line = run.expect_one_line_failure();
    assert!(line.contains(&person.config.display().to_string()), "{line}");
    assert!(line.contains("--config"), "{line}");
}

#[test]
fn the_config_flag_wins_over_the_environment() {
    let person = Person::new();
    let other = person.home.path().join("other.toml");
    std::fs::write(&other, "[idp.x]\nissuer = \"http://insecure\"\nclient_id = \"c\"\nusername = \"u\"\n")
        .unwrap();
    let line = person.tapgate(&["--config", other.to_str().unwrap(), "whoami"]).expect_one_line_failure();
    assert!(line.contains("other.toml:2: idp.x.issuer") && line.contains("https"), "{line}");
}
