//! The SQL both backends speak: one handle type ([`Db`]) over a SQLite connection or a
//! PostgreSQL client or transaction, one parameter type ([`Value`]) and one row type ([`Row`]).
//!
//! The entity files (`feeds.rs`, `items.rs`, …) write each statement once, with PostgreSQL's
//! numbered placeholders (`$1`); for SQLite they are read as `?1`, which SQLite takes as the same
//! numbered parameter. Both engines accept the rest of what the store writes (`ON CONFLICT … DO
//! NOTHING`, `RETURNING`, `excluded.`); where they differ (`FOR UPDATE SKIP LOCKED`), the entity
//! file asks [`Db::dialect`]. Values adapt to the type PostgreSQL inferred for a parameter, so a
//! statement need not cast.

use std::borrow::Cow;
use std::collections::HashMap;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{Result, StoreError};

/// Which engine a handle talks to, for the few statements the two write differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A statement parameter.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Null,
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
    Bool(bool),
    /// A column of a batch's rows, sent to PostgreSQL as one array parameter that `unnest`
    /// turns back into rows ([`Columns`]); SQLite has no arrays and refuses it.
    Column(&'a ColumnValues<'a>),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<usize> for Value<'_> {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<u16> for Value<'_> {
    fn from(v: u16) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(v: &'a String) -> Self {
        Value::Text(v)
    }
}

impl<'a> From<&'a [u8]> for Value<'a> {
    fn from(v: &'a [u8]) -> Self {
        Value::Blob(v)
    }
}

impl<'a> From<&'a Vec<u8>> for Value<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Value::Blob(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<'a, T: Into<Value<'a>> + Copy> From<&Option<T>> for Value<'a> {
    fn from(v: &Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// `args![a, b, c]`: the parameters of a statement, each turned into a [`Value`].
macro_rules! args {
    ($($v:expr),* $(,)?) => {
        &[$($crate::store::db::Value::from($v)),*][..]
    };
}
pub(crate) use args;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(v),
            Value::Bool(v) => ValueRef::Integer(i64::from(v)),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
            Value::Column(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "a column of values is a PostgreSQL array; SQLite reads a VALUES list".into(),
                ));
            }
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, BoxError> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => i16::try_from(v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(v)?.to_sql(ty, out),
                Type::BOOL => (v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    v.to_string().as_str().to_sql(ty, out)
                }
                _ => v.to_sql(&Type::INT8, out),
            },
            Value::Bool(v) => match *ty {
                Type::BOOL => v.to_sql(ty, out),
                _ => Value::Int(i64::from(v)).to_sql(ty, out),
            },
            Value::Text(s) => s.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
            Value::Column(ColumnValues::Ints(v)) => v.as_slice().to_sql(ty, out),
            Value::Column(ColumnValues::Texts(v)) => v.as_slice().to_sql(ty, out),
            Value::Column(ColumnValues::Blobs(v)) => v.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// One row of a result, read by column index.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    pub fn get<T: Column>(&self, i: usize) -> Result<T> {
        match self {
            Row::Sqlite(r) => T::sqlite(r, i),
            Row::Postgres(r) => T::postgres(r, i),
        }
    }
}

/// A Rust type a column is read as, from either engine.
pub trait Column: Sized {
    fn sqlite(row: &rusqlite::Row, i: usize) -> Result<Self>;
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self>;
}

/// Reads an integer column of any width (and a boolean as 0 or 1) as `i64`.
fn pg_int(row: &postgres::Row, i: usize) -> Result<Option<i64>> {
    let ty = row
        .columns()
        .get(i)
        .map(|c| c.type_().clone())
        .ok_or_else(|| StoreError::Column(format!("no column {i}")))?;
    Ok(match ty {
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(i64::from),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.map(i64::from),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(i64::from),
        _ => row.try_get::<_, Option<i64>>(i)?,
    })
}

impl Column for i64 {
    fn sqlite(row: &rusqlite::Row, i: usize) -> Result<Self> {
        Ok(row.get(i)?)
    }
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self> {
        pg_int(row, i)?.ok_or_else(|| StoreError::Column(format!("column {i} is NULL")))
    }
}

impl Column for Option<i64> {
    fn sqlite(row: &rusqlite::Row, i: usize) -> Result<Self> {
        Ok(row.get(i)?)
    }
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self> {
        pg_int(row, i)
    }
}

impl Column for String {
    fn sqlite(row: &rusqlite::Row, i: usize) -> Result<Self> {
        Ok(row.get(i)?)
    }
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self> {
        Ok(row.try_get(i)?)
    }
}

impl Column for Option<String> {
    fn sqlite(row: &rusqlite::Row, i: usize) -> Result<Self> {
        Ok(row.get(i)?)
    }
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self> {
        Ok(row.try_get(i)?)
    }
}

impl Column for Vec<u8> {
    fn sqlite(row: &rusqlite::Row, i: usize) -> Result<Self> {
        // A NULL or text where bytes were expected reads as empty, as the rows of older
        // releases may hold.
        Ok(match row.get_ref(i)? {
            rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
            _ => Vec::new(),
        })
    }
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self> {
        Ok(row.try_get::<_, Option<Vec<u8>>>(i)?.unwrap_or_default())
    }
}

/// An array column (PostgreSQL only: SQLite has no arrays, and no table of it holds one).
impl Column for Vec<i64> {
    fn sqlite(_: &rusqlite::Row, i: usize) -> Result<Self> {
        Err(StoreError::Column(format!(
            "column {i}: SQLite has no arrays"
        )))
    }
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self> {
        Ok(row.try_get::<_, Option<Vec<i64>>>(i)?.unwrap_or_default())
    }
}

/// An array column (PostgreSQL only), NULL elements left out.
impl Column for Vec<String> {
    fn sqlite(_: &rusqlite::Row, i: usize) -> Result<Self> {
        Err(StoreError::Column(format!(
            "column {i}: SQLite has no arrays"
        )))
    }
    fn postgres(row: &postgres::Row, i: usize) -> Result<Self> {
        let v: Option<Vec<Option<String>>> = row.try_get(i)?;
        Ok(v.unwrap_or_default().into_iter().flatten().collect())
    }
}

/// A PostgreSQL connection with the statements it has prepared, so a statement run again is
/// not parsed and planned again (a round trip each time).
pub struct PgConn {
    pub client: postgres::Client,
    pub statements: HashMap<String, postgres::Statement>,
}

/// A handle to run statements on. Borrowed for one store call: the store opens it, the entity
/// function runs its statements, the store commits.
pub enum Db<'a> {
    Sqlite(&'a rusqlite::Connection),
    Postgres {
        /// The connection: the store opens and ends transactions on it itself (see
        /// `postgres::Pool::tx`), so one handle type serves both.
        client: &'a mut postgres::Client,
        statements: &'a mut HashMap<String, postgres::Statement>,
    },
}

/// The parameters as the PostgreSQL client takes them.
fn pg_params<'v>(args: &'v [Value]) -> Vec<&'v (dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}

/// `$1` → `?1`: SQLite reads `?NNN` as the NNN-th parameter, as PostgreSQL reads `$NNN`.
fn sqlite_sql(sql: &str) -> Cow<'_, str> {
    if sql.contains('$') {
        Cow::Owned(sql.replace('$', "?"))
    } else {
        Cow::Borrowed(sql)
    }
}

/// The longest statement text a PostgreSQL connection keeps prepared.
const CACHED_STATEMENT_LEN: usize = 4096;

impl Db<'_> {
    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres { .. } => Dialect::Postgres,
        }
    }

    fn pg_statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        let Db::Postgres { client, statements } = self else {
            return Err(StoreError::Column("not a PostgreSQL handle".into()));
        };
        if let Some(s) = statements.get(sql) {
            return Ok(s.clone());
        }
        let s = client.prepare(sql)?;
        // A long statement is one batch's shape (a VALUES list of so many rows), unlikely to
        // come again: kept, the variants would pile up in this process and in the server.
        if sql.len() <= CACHED_STATEMENT_LEN {
            statements.insert(sql.to_string(), s.clone());
        }
        Ok(s)
    }

    /// Runs a statement; returns the rows it changed.
    pub fn execute(&mut self, sql: &str, args: &[Value]) -> Result<u64> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(&sqlite_sql(sql))?;
                Ok(stmt.execute(rusqlite::params_from_iter(args.iter()))? as u64)
            }
            Db::Postgres { .. } => {
                let stmt = self.pg_statement(sql)?;
                let params = pg_params(args);
                let Db::Postgres { client, .. } = self else {
                    unreachable!("matched above")
                };
                Ok(client.execute(&stmt, &params)?)
            }
        }
    }

    /// Calls `each` on every row of a query, in order.
    pub fn each(
        &mut self,
        sql: &str,
        args: &[Value],
        mut each: impl FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(&sqlite_sql(sql))?;
                let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
                while let Some(r) = rows.next()? {
                    each(&Row::Sqlite(r))?;
                }
                Ok(())
            }
            Db::Postgres { .. } => {
                let stmt = self.pg_statement(sql)?;
                let params = pg_params(args);
                let Db::Postgres { client, .. } = self else {
                    unreachable!("matched above")
                };
                let rows = client.query(&stmt, &params)?;
                for r in &rows {
                    each(&Row::Postgres(r))?;
                }
                Ok(())
            }
        }
    }

    /// Every row of a query, each read by `read`.
    pub fn query<T>(
        &mut self,
        sql: &str,
        args: &[Value],
        mut read: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.each(sql, args, |r| {
            out.push(read(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    pub fn query_opt<T>(
        &mut self,
        sql: &str,
        args: &[Value],
        read: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut read = Some(read);
        let mut out = None;
        self.each(sql, args, |r| {
            if let Some(f) = read.take() {
                out = Some(f(r)?);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Inserts one row and gives its id (SQLite's rowid). It spares the statement a
    /// `RETURNING id`, whose rows SQLite buffers: about a sixth of the cost of filing a story on
    /// the storing thread. SQLite only; on PostgreSQL a statement returns its ids itself.
    pub fn insert_row(&mut self, sql: &str, args: &[Value]) -> Result<i64> {
        match self {
            Db::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(&sqlite_sql(sql))?;
                Ok(stmt.insert(rusqlite::params_from_iter(args.iter()))?)
            }
            Db::Postgres { .. } => Err(StoreError::Column(
                "insert_row is SQLite's: on PostgreSQL, INSERT … RETURNING".into(),
            )),
        }
    }

    /// The one row a query must return.
    pub fn query_one<T>(
        &mut self,
        sql: &str,
        args: &[Value],
        read: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, args, read)?
            .ok_or_else(|| StoreError::NotFound("a row the statement must return".into()))
    }
}

/// The type of one column of a batch's rows, for [`Columns`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Int,
    Text,
    Blob,
}

impl ColumnType {
    pub fn array(self) -> &'static str {
        match self {
            ColumnType::Int => "BIGINT[]",
            ColumnType::Text => "TEXT[]",
            ColumnType::Blob => "BYTEA[]",
        }
    }
}

/// The values of one column of a batch's rows.
#[derive(Debug)]
pub enum ColumnValues<'a> {
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<&'a str>>),
    Blobs(Vec<Option<&'a [u8]>>),
}

/// A batch's rows as PostgreSQL reads them best: one array parameter per column and
/// `unnest($1::BIGINT[], $2::TEXT[], …)` in the statement. Unlike a `VALUES` list of one
/// placeholder per cell, the statement's text is the same for every batch, so the server
/// parses and plans it once per connection (a `VALUES` list of a few hundred rows took it
/// longer to prepare than to run), and a batch of any size is a handful of parameters.
#[derive(Debug)]
pub struct Columns<'a> {
    columns: Vec<ColumnValues<'a>>,
}

impl<'a> Columns<'a> {
    /// Turns `rows` (each `types.len()` values, in the order of `types`) into columns. A value
    /// that does not fit its column's type is an error naming the column.
    pub fn of(types: &[ColumnType], rows: impl IntoIterator<Item = Value<'a>>) -> Result<Self> {
        let mut columns: Vec<ColumnValues<'a>> = types
            .iter()
            .map(|t| match t {
                ColumnType::Int => ColumnValues::Ints(Vec::new()),
                ColumnType::Text => ColumnValues::Texts(Vec::new()),
                ColumnType::Blob => ColumnValues::Blobs(Vec::new()),
            })
            .collect();
        let width = columns.len().max(1);
        for (n, value) in rows.into_iter().enumerate() {
            let c = n % width;
            let Some(column) = columns.get_mut(c) else {
                break;
            };
            match (column, value) {
                (ColumnValues::Ints(v), Value::Null) => v.push(None),
                (ColumnValues::Texts(v), Value::Null) => v.push(None),
                (ColumnValues::Blobs(v), Value::Null) => v.push(None),
                (ColumnValues::Ints(v), Value::Int(i)) => v.push(Some(i)),
                (ColumnValues::Ints(v), Value::Bool(b)) => v.push(Some(i64::from(b))),
                (ColumnValues::Texts(v), Value::Text(t)) => v.push(Some(t)),
                (ColumnValues::Blobs(v), Value::Blob(b)) => v.push(Some(b)),
                (_, value) => {
                    return Err(StoreError::Column(format!(
                        "column {c} of a batch is {:?}, and {value:?} does not fit it",
                        types.get(c)
                    )));
                }
            }
        }
        Ok(Columns { columns })
    }

    /// `SELECT * FROM unnest(CAST($first+1 AS BIGINT[]), …)`: the rows again, for a `WITH`
    /// clause that names the columns.
    pub fn select(&self, types: &[ColumnType], first: usize) -> String {
        let arrays: Vec<String> = types
            .iter()
            .enumerate()
            .map(|(c, t)| format!("CAST(${} AS {})", first + c + 1, t.array()))
            .collect();
        format!("SELECT * FROM unnest({})", arrays.join(", "))
    }

    /// The parameters: one array per column.
    pub fn params(&self) -> impl Iterator<Item = Value<'_>> {
        self.columns.iter().map(Value::Column)
    }
}

/// `(CAST($1 AS BIGINT), $2), (CAST($3 AS BIGINT), $4), …`: the rows of a `VALUES` list of
/// `rows` rows, one placeholder per column, numbered from `$1`. A column whose entry in `casts`
/// names a type is cast to it (both engines read `CAST`; PostgreSQL takes an uncast parameter
/// in a `VALUES` list as text). Lets one statement look up a whole batch (one round trip to a
/// server instead of one per row).
pub fn values_list(rows: usize, casts: &[Option<&str>]) -> String {
    values_list_from(0, rows, casts)
}

/// [`values_list`] with its placeholders numbered from `$(first + 1)`: for a statement with
/// other parameters before the list.
pub fn values_list_from(first: usize, rows: usize, casts: &[Option<&str>]) -> String {
    let mut out = String::with_capacity(rows * casts.len() * 12);
    let mut n = first;
    for row in 0..rows {
        out.push_str(if row == 0 { "(" } else { ", (" });
        for (c, cast) in casts.iter().enumerate() {
            n += 1;
            if c > 0 {
                out.push_str(", ");
            }
            match cast {
                Some(ty) => out.push_str(&format!("CAST(${n} AS {ty})")),
                None => out.push_str(&format!("${n}")),
            }
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_becomes_one_array_per_column_and_one_unnest_whatever_its_size() {
        use ColumnType::{Blob, Int, Text};
        let types = [Int, Text, Blob];
        let rows = [
            Value::Int(1),
            Value::Text("a"),
            Value::Null,
            Value::Bool(true),
            Value::Null,
            Value::Blob(b"x"),
        ];
        let columns = Columns::of(&types, rows).expect("values fit their columns");
        let params: Vec<Value> = columns.params().collect();
        assert!(matches!(
            params.as_slice(),
            [
                Value::Column(ColumnValues::Ints(ints)),
                Value::Column(ColumnValues::Texts(texts)),
                Value::Column(ColumnValues::Blobs(blobs)),
            ] if ints == &[Some(1), Some(1)]
                && texts == &[Some("a"), None]
                && blobs == &[None, Some(&b"x"[..])]
        ));
        assert_eq!(
            columns.select(&types, 2),
            "SELECT * FROM unnest(CAST($3 AS BIGINT[]), CAST($4 AS TEXT[]), CAST($5 AS BYTEA[]))"
        );
        let err = Columns::of(&[Int], [Value::Text("seven")]).expect_err("text in an int column");
        assert!(err.to_string().contains("column 0"), "{err}");
    }

    #[test]
    fn numbered_placeholders_read_as_sqlites_numbered_parameters() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut db = Db::Sqlite(&conn);
        // $2 before $1, and $1 twice: bound by number, not by order of appearance.
        let got = db
            .query_one(
                "SELECT $2 || '-' || $1 || '-' || $1",
                args!["a", "b"],
                |r| r.get::<String>(0),
            )
            .unwrap();
        assert_eq!(got, "b-a-a");
    }

    #[test]
    fn a_values_list_numbers_its_placeholders_row_by_row() {
        assert_eq!(
            values_list(2, &[Some("BIGINT"), None]),
            "(CAST($1 AS BIGINT), $2), (CAST($3 AS BIGINT), $4)"
        );
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut db = Db::Sqlite(&conn);
        let sql = format!(
            "WITH q(n, word) AS (VALUES {}) SELECT n, word FROM q ORDER BY n DESC",
            values_list(2, &[Some("BIGINT"), None])
        );
        let got: Vec<(i64, String)> = db
            .query(&sql, args![1i64, "one", 2i64, "two"], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(got, vec![(2, "two".into()), (1, "one".into())]);
    }
}
