//! The throw-away PostgreSQL cluster of `tests/support/postgres.rs`: it starts, and each
//! `fresh_database` is a database of its own that a client can reach over loopback TCP.

mod support;

use support::postgres::{cluster, fresh_database};

#[test]
fn fresh_databases_are_distinct_and_reachable() {
    let a = fresh_database();
    let b = fresh_database();
    assert_ne!(a, b, "two calls must give two databases");
    let pg = cluster();
    for url in [&a, &b] {
        assert!(
            url.starts_with(&format!("postgres://postgres@127.0.0.1:{}/", pg.port)),
            "{url}"
        );
    }

    // Each URL reaches its own database over TCP...
    let name = |url: &str| url.rsplit('/').next().unwrap_or_default().to_string();
    assert_eq!(pg.psql(&a, "SELECT current_database()"), name(&a));
    assert_eq!(pg.psql(&b, "SELECT current_database()"), name(&b));

    // ...and what one holds the other does not.
    pg.psql(&a, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)");
    assert_eq!(pg.psql(&a, "SELECT x FROM t"), "42");
    assert_eq!(
        pg.psql(&b, "SELECT count(*) FROM pg_tables WHERE tablename = 't'"),
        "0"
    );
}
