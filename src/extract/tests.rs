//! Behaviour of the whole article stage on the fixture pages and on small pages of our own.

use super::*;

fn page(html: &str) -> Article {
    extract(html.as_bytes(), None, None, &[])
}

fn rendered(a: &Article) -> String {
    format!("{}\n\n{}\n", a.title.as_deref().unwrap_or_default(), a.text)
}

#[test]
fn the_tome_fixture_extracts_exactly() {
    let a = extract(
        include_bytes!("../../tests/fixtures/tome-iraq-troops.html"),
        None,
        None,
        &[],
    );
    assert_eq!(
        rendered(&a),
        include_str!("../../tests/fixtures/tome-iraq-troops.expected.txt")
    );
    assert_eq!(a.site_name.as_deref(), Some("TOME"));
    assert_eq!(a.not_article, None);
}

#[test]
fn the_wire_fixture_extracts_exactly() {
    let a = extract(
        include_bytes!("../../tests/fixtures/wire-iraq-troops.html"),
        None,
        None,
        &[],
    );
    assert_eq!(
        rendered(&a),
        include_str!("../../tests/fixtures/wire-iraq-troops.expected.txt")
    );
    assert_eq!(a.byline.as_deref(), Some("Staff reporter"));
    assert_eq!(a.site_name.as_deref(), Some("Daily Wire Service"));
}
