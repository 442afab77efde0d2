//! Evolving the tenant's tables: a page's schema changes (new columns, widened and newly typed ones, converted
//! without changing a value), the primary key's index, and the run's end, when staged rows take their place.

use super::{Conn, list, pg, usable_name};
use crate::dest::postgres_copy::PgType;
use crate::dest::sqlite::ident;
use crate::wit::{ChangeKind, SchemaChange};
use std::io;

impl Conn {
    /// Apply a page's schema changes to its table: new columns, widened and newly typed ones.
    pub(super) fn apply(&mut self, i: usize, changes: &[SchemaChange]) -> io::Result<()> {
        for change in changes {
            let want = PgType::of(change.data_type);
            let t = &self.tables[i];
            let have = t.columns.iter().position(|(c, _)| *c == change.column);
            match (change.kind, have) {
                (ChangeKind::NewColumn, None) => {
                    usable_name("column", &change.column, &t.resource)?;
                    let sql = format!(
                        "ALTER TABLE {} ADD COLUMN {} {}",
                        ident(&t.target),
                        ident(&change.column),
                        want.sql()
                    );
                    self.client
                        .batch_execute(&sql)
                        .map_err(pg("adding a column"))?;
                    self.tables[i].columns.push((change.column.clone(), want));
                    self.index_primary_key(i)?;
                }
                (ChangeKind::Widened | ChangeKind::Typed, Some(c)) => self.retype(i, c, want)?,
                _ => {}
            }
        }
        Ok(())
    }

    /// Give column `c` of table `i` the type `want` (see [`Conn::alter_type`]).
    pub(super) fn retype(&mut self, i: usize, c: usize, want: PgType) -> io::Result<()> {
        let t = &self.tables[i];
        let (table, column, have) = (t.target.clone(), t.columns[c].0.clone(), t.columns[c].1);
        self.tables[i].columns[c].1 = self.alter_type(&table, &column, have, want)?;
        Ok(())
    }

    /// Change a column of type `have` to hold `want`, converting its values without changing one, and give the
    /// type it has now: `numeric` stays `numeric` for doubles; a `bigint` column becomes `numeric` rather than
    /// `double precision` when a value of it is beyond ±2^53; a double goes through its shortest exact text.
    fn alter_type(
        &mut self,
        table: &str,
        column: &str,
        have: PgType,
        want: PgType,
    ) -> io::Result<PgType> {
        let (table, column) = (ident(table), ident(column));
        let mut want = match (have, want) {
            (PgType::Numeric, PgType::Double) => return Ok(have),
            (have, want) if have == want => return Ok(have),
            (_, want) => want,
        };
        if (have, want) == (PgType::Bigint, PgType::Double) {
            let sql = format!(
                "SELECT 1 FROM {table}
                 WHERE {column} NOT BETWEEN -9007199254740992 AND 9007199254740992 LIMIT 1"
            );
            let inexact = self
                .client
                .query_opt(&sql, &[])
                .map_err(pg("widening a column"))?;
            if inexact.is_some() {
                want = PgType::Numeric;
            }
        }
        let using = match (have, want) {
            (_, PgType::Jsonb) => format!("to_jsonb({column})"),
            (PgType::Double, _) => format!("{column}::text::{}", want.sql()),
            _ => format!("{column}::{}", want.sql()),
        };
        let sql = format!(
            "ALTER TABLE {table} ALTER COLUMN {column} TYPE {} USING {using}",
            want.sql()
        );
        self.client
            .batch_execute(&sql)
            .map_err(pg("widening a column"))?;
        Ok(want)
    }

    /// The unique index an upsert needs, once the primary key's columns exist.
    fn index_primary_key(&mut self, i: usize) -> io::Result<()> {
        let t = &self.tables[i];
        if !t.upserts() {
            return Ok(());
        }
        let sql = format!(
            "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({})",
            ident(&format!("{}__primary_key", t.name)),
            ident(&t.name),
            list(&t.primary_key)
        );
        self.client
            .batch_execute(&sql)
            .map_err(pg("indexing the primary key"))
    }

    /// Move table `i`'s staged rows into it: swap a `replace` table in; delete-insert merge-key rows.
    pub(super) fn settle(&mut self, i: usize) -> io::Result<()> {
        let t = &self.tables[i];
        let (name, target) = (ident(&t.name), ident(&t.target));
        if t.merge_key.is_empty() {
            let unqualified = ident(&t.name);
            let swap = format!("DROP TABLE {name}; ALTER TABLE {target} RENAME TO {unqualified};");
            return self
                .client
                .batch_execute(&swap)
                .map_err(pg("swapping in a table"));
        }
        let (table, staged) = (t.name.clone(), t.columns.clone());
        let (merge_key, primary_key) = (t.merge_key.clone(), t.primary_key.clone());
        if staged.is_empty() {
            // No record this run: nothing to merge.
            let drop = format!("DROP TABLE {target}");
            return self
                .client
                .batch_execute(&drop)
                .map_err(pg("dropping a staging table"));
        }
        let existing = self.columns_of(&table)?;
        for (column, ty) in &staged {
            match existing.iter().find(|(c, _)| c == column) {
                None => {
                    let add = format!(
                        "ALTER TABLE {name} ADD COLUMN {} {}",
                        ident(column),
                        ty.sql()
                    );
                    self.client
                        .batch_execute(&add)
                        .map_err(pg("adding a column"))?;
                }
                // Widened in the staging table this run: the table follows, its values kept.
                Some((_, have)) => {
                    self.alter_type(&table, column, *have, *ty)?;
                }
            }
        }
        let names: Vec<String> = staged.into_iter().map(|(c, _)| c).collect();
        let (cols, keys) = (list(&names), list(&merge_key));
        let mut sql = format!(
            "DELETE FROM {name} WHERE ({keys}) IN (SELECT {keys} FROM {target});
             INSERT INTO {name} ({cols}) "
        );
        if primary_key.is_empty() {
            sql.push_str(&format!("SELECT {cols} FROM {target} ORDER BY _rowid"));
        } else {
            let pk = list(&primary_key);
            let sets: Vec<String> = names
                .iter()
                .map(|c| format!("{0} = excluded.{0}", ident(c)))
                .collect();
            sql = format!(
                "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {name} ({pk});\n{sql}
                 SELECT {cols} FROM (SELECT DISTINCT ON ({pk}) * FROM {target} ORDER BY {pk}, _rowid DESC) AS s
                 ORDER BY _rowid ON CONFLICT ({pk}) DO UPDATE SET {}",
                ident(&format!("{table}__primary_key")),
                sets.join(", ")
            );
        }
        sql.push_str(&format!("; DROP TABLE {target};"));
        self.client
            .batch_execute(&sql)
            .map_err(pg("merging staged rows"))
    }
}
