//! A report table and its two written forms: CSV (one file per table, the `csv` crate) and an
//! XLSX workbook (one sheet per table, `rust_xlsxwriter`). Every text cell is neutralised
//! against formula injection on the way out.

use super::ReportError;
use rust_xlsxwriter::{Format, Workbook};

/// One cell of a report table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A number shown with this many decimals (the XLSX keeps the full value).
    Num(f64, u8),
    /// Nothing to show (e.g. a share of zero cases).
    Empty,
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// A number with `decimals`, or empty when there is none.
    pub fn num(v: Option<f64>, decimals: u8) -> Cell {
        v.map_or(Cell::Empty, |v| Cell::Num(v, decimals))
    }

    /// How the cell reads in a CSV file or a chat message (numbers with a decimal point).
    pub fn display(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Num(v, d) => format!("{v:.*}", usize::from(*d)),
            Cell::Empty => String::new(),
        }
    }
}

/// A named table: one CSV file (`NAME.csv`) and one worksheet (`NAME`).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem and sheet name: lowercase ASCII, at most 31 characters.
    pub name: String,
    /// What the table shows, in Indonesian and English.
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new<H: AsRef<str>>(name: &str, title: &str, headers: &[H]) -> Table {
        Table {
            name: name.to_string(),
            title: title.to_string(),
            headers: headers.iter().map(|h| h.as_ref().to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.headers.len(), "row width of {}", self.name);
        self.rows.push(row);
    }
}

/// Neutralises formula injection: a text starting with `=`, `+`, `-`, `@`, a tab or a carriage
/// return gets a leading `'`, so a spreadsheet shows it as text instead of running it
/// (OWASP "CSV injection").
pub fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The table as CSV (comma-separated, header row first, UTF-8).
pub fn to_csv(table: &Table) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(table.headers.iter().map(|h| neutralise(h).into_owned()))?;
    for row in &table.rows {
        w.write_record(row.iter().map(|c| match c {
            Cell::Text(s) => neutralise(s).into_owned(),
            other => other.display(),
        }))?;
    }
    w.into_inner()
        .map_err(|e| ReportError::Write(e.error().to_string()))
}

/// The tables as one XLSX workbook, a sheet per table: the title in the first row, the
/// headers in bold in the third, then the rows; numbers stay numbers.
pub fn to_xlsx(tables: &[Table]) -> Result<Vec<u8>, ReportError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for t in tables {
        let ws = wb.add_worksheet();
        ws.set_name(&t.name)?;
        ws.write_string_with_format(0, 0, neutralise(&t.title), &bold)?;
        for (c, h) in t.headers.iter().enumerate() {
            ws.write_string_with_format(2, col(c)?, neutralise(h), &bold)?;
            ws.set_column_width(col(c)?, (h.chars().count().clamp(8, 40) + 2) as f64)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = u32::try_from(r + 3).map_err(|_| ReportError::Write("too many rows".into()))?;
            for (c, cell) in row.iter().enumerate() {
                let c = col(c)?;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, neutralise(s))?;
                    }
                    Cell::Int(i) => {
                        ws.write_number(r, c, *i as f64)?;
                    }
                    Cell::Num(v, d) => {
                        let pattern = if *d == 0 {
                            "0".to_string()
                        } else {
                            format!("0.{}", "0".repeat(usize::from(*d)))
                        };
                        ws.write_number_with_format(
                            r,
                            c,
                            *v,
                            &Format::new().set_num_format(&pattern),
                        )?;
                    }
                    Cell::Empty => {}
                }
            }
        }
    }
    Ok(wb.save_to_buffer()?)
}

fn col(c: usize) -> Result<u16, ReportError> {
    u16::try_from(c).map_err(|_| ReportError::Write("too many columns".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_starters_get_a_quote_and_nothing_else_does() {
        for bad in ["=1+1", "+62812", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        for ok in ["Budi", "", "62812", "a=b", " =x"] {
            assert_eq!(neutralise(ok), ok);
        }
    }

    #[test]
    fn csv_quotes_commas_and_neutralises_text_cells_only() {
        let mut t = Table::new("t", "T", &["a", "b", "c"]);
        t.push(vec![
            Cell::text("=HYPERLINK(\"x\")"),
            Cell::Num(-1.256, 2),
            Cell::text("x, y"),
        ]);
        let text = String::from_utf8(to_csv(&t).unwrap()).unwrap();
        assert_eq!(text, "a,b,c\n\"'=HYPERLINK(\"\"x\"\")\",-1.26,\"x, y\"\n");
    }
}
