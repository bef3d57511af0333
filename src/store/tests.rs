//! Store tests that need the backend's insides; the behaviour of the store on both backends
//! is tested through its API in `tests/store.rs`.

use super::*;

#[test]
fn the_database_setting_tells_a_postgres_url_from_a_sqlite_path() {
    assert_eq!(
        Database::parse("/var/lib/feedwatch/feedwatch.db", None).unwrap(),
        Database::Sqlite("/var/lib/feedwatch/feedwatch.db".into())
    );
    assert!(matches!(
        Database::parse("postgres://fw@127.0.0.1:5432/news", None).unwrap(),
        Database::Postgres(_)
    ));
    assert!(matches!(
        Database::parse("postgresql://fw@127.0.0.1/news", None).unwrap(),
        Database::Postgres(_)
    ));
    // Another scheme is an error, not a folder named "mysql:".
    let err = Database::parse("mysql://fw@127.0.0.1/news", None).unwrap_err();
    assert!(err.contains("mysql://"), "{err}");
}

#[test]
fn a_database_url_never_shows_its_password() {
    let db = Database::parse("postgres://fw:hunter2@127.0.0.1/news", None).unwrap();
    assert!(!format!("{db}").contains("hunter2"));
    assert!(!format!("{db:?}").contains("hunter2"));
}
