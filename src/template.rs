//! dlt's placeholder expansion (`expand_placeholders`): Python `str.format` templates in path, params, json,
//! data and headers, filled from a lookup of whole field names (`resources.posts.id`, `id`).
//!
//! Outside type-preserving mode values render with Python's `str()` (or a conversion `!r`/`!s`, or a format
//! spec). In `json`, a string that is exactly one placeholder is replaced by the raw value (type preserved).
//!
//! [`parse_template`] splits a template into [`Piece`]s (text and `{field}` placeholders) as `str.format` does.

use crate::render::{py_repr, py_str};
use serde_json::{Map, Value};

/// A piece of a `str.format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text (with `{{` and `}}` already unescaped).
    Text(String),
    /// A `{field}` placeholder.
    Field(String),
}

/// Split a Python `str.format` template into text and placeholders. Errors on a lone `{` or `}`.
pub fn parse_template(template: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut field = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => return Err(format!("unmatched `{{` in `{template}`")),
                        Some(c) => field.push(c),
                    }
                }
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Field(field));
            }
            '}' => return Err(format!("single `}}` in `{template}`")),
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// A placeholder: the field name, an optional conversion (`r`, `s`, `a`) and an optional format spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Whole field name, e.g. `resources.posts.id`.
    pub name: String,
    /// Conversion after `!`.
    pub conversion: Option<char>,
    /// Format spec after `:`.
    pub spec: String,
}

impl Field {
    /// Split `name!conv:spec` as `str.format` does.
    pub fn parse(raw: &str) -> Self {
        let (head, spec) = raw.split_once(':').map_or((raw, ""), |(h, s)| (h, s));
        let (name, conversion) = match head.split_once('!') {
            Some((n, c)) => (n, c.chars().next()),
            None => (head, None),
        };
        Self {
            name: name.to_string(),
            conversion,
            spec: spec.to_string(),
        }
    }

    /// Refuse, before any value is known, a conversion other than `!s`, `!r`, `!a`, and a width or precision
    /// over [`MOST_WIDTH`].
    pub fn check(&self) -> Result<(), String> {
        if let Some(c) = self.conversion.filter(|c| !matches!(c, 's' | 'r' | 'a')) {
            return Err(format!("unknown conversion `!{c}` in `{{{}}}`", self.name));
        }
        let mut digits = String::new();
        for c in self.spec.chars().chain(std::iter::once(' ')) {
            match c.is_ascii_digit() {
                true => digits.push(c),
                false if !digits.is_empty() => {
                    if digits.parse::<usize>().is_ok_and(|n| n <= MOST_WIDTH) {
                        digits.clear();
                        continue;
                    }
                    return Err(format!(
                        "format spec `{}` of `{{{}}}` asks for a width or precision over {MOST_WIDTH}",
                        self.spec, self.name
                    ));
                }
                false => {}
            }
        }
        Ok(())
    }

    fn render(&self, value: &Value) -> Result<String, String> {
        let text = match self.conversion {
            None | Some('s') => None,
            Some('r') | Some('a') => Some(py_repr(value)),
            Some(c) => return Err(format!("unknown conversion `!{c}` in `{{{}}}`", self.name)),
        };
        if self.spec.is_empty() {
            return Ok(text.unwrap_or_else(|| py_str(value)));
        }
        let value = text.map_or_else(|| value.clone(), Value::String);
        format_spec(&value, &self.spec).ok_or_else(|| {
            format!(
                "format spec `{}` of `{{{}}}` is not supported",
                self.spec, self.name
            )
        })
    }
}

/// The whole-field-name expressions in a string or nested value (keys included), in order of appearance.
pub fn expressions(value: &Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    collect(value, &mut out)?;
    Ok(out)
}

fn collect(value: &Value, out: &mut Vec<String>) -> Result<(), String> {
    match value {
        Value::String(s) => {
            for piece in parse_template(s)? {
                if let Piece::Field(f) = piece {
                    let field = Field::parse(&f);
                    field.check()?;
                    let name = field.name;
                    if !name.is_empty() && !out.contains(&name) {
                        out.push(name);
                    }
                }
            }
        }
        Value::Array(items) => items.iter().try_for_each(|v| collect(v, out))?,
        Value::Object(map) => {
            for (k, v) in map {
                collect(&Value::String(k.clone()), out)?;
                collect(v, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// How placeholders are filled.
pub trait Lookup {
    /// The value of a whole field name, or why there is none.
    fn value(&self, name: &str) -> Result<Value, String>;
    /// Strings used as they are, never read as templates (secret values).
    fn is_opaque(&self, _text: &str) -> bool {
        false
    }
}

/// Fill the placeholders of one string (`{{`/`}}` unescaped).
pub fn render_str(template: &str, lookup: &dyn Lookup) -> Result<String, String> {
    if lookup.is_opaque(template) {
        return Ok(template.to_string());
    }
    let mut out = String::new();
    for piece in parse_template(template)? {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Field(f) => {
                let field = Field::parse(&f);
                out.push_str(&field.render(&lookup.value(&field.name)?)?);
            }
        }
    }
    Ok(out)
}

/// Fill every string of a nested value, keys included. With `preserve`, a string that is exactly one plain
/// placeholder becomes the raw value (dlt's `preserve_value_type`, used for `json`).
pub fn render_value(value: &Value, lookup: &dyn Lookup, preserve: bool) -> Result<Value, String> {
    match value {
        Value::String(s) if lookup.is_opaque(s) => Ok(value.clone()),
        Value::String(s) => {
            if preserve && let Ok([Piece::Field(f)]) = parse_template(s).as_deref() {
                let field = Field::parse(f);
                if field.conversion.is_none() && field.spec.is_empty() && !field.name.is_empty() {
                    return lookup.value(&field.name);
                }
            }
            render_str(s, lookup).map(Value::String)
        }
        Value::Array(items) => items
            .iter()
            .map(|v| render_value(v, lookup, preserve))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(render_str(k, lookup)?, render_value(v, lookup, preserve)?);
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// The widest width or precision a format spec may ask for (Python has no limit; a run has no use for more,
/// and `{x:>4294967295}` would ask for gigabytes).
pub const MOST_WIDTH: usize = 1000;

/// A subset of Python's format-spec mini-language: `[[fill]align][sign][0][width][,][.precision][type]` with
/// types `s`, `d`, `f`, `F`, `x`, `X`, `o`, `b`, `%` or none. `None` for anything else.
fn format_spec(value: &Value, spec: &str) -> Option<String> {
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    let (mut fill, mut align) = (' ', None);
    if chars.len() >= 2 && is_align(chars[1]) {
        (fill, align) = (chars[0], Some(chars[1]));
        i = 2;
    } else if chars.first().copied().is_some_and(is_align) {
        align = Some(chars[0]);
        i = 1;
    }
    let mut sign = '-';
    if let Some(&c @ ('+' | '-' | ' ')) = chars.get(i) {
        sign = c;
        i += 1;
    }
    if chars.get(i) == Some(&'0') {
        (fill, align) = ('0', align.or(Some('=')));
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        chars[start..*i]
            .iter()
            .collect::<String>()
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= MOST_WIDTH)
    };
    let width = match chars.get(i).is_some_and(char::is_ascii_digit) {
        true => digits(&mut i)?,
        false => 0,
    };
    let grouping = chars.get(i) == Some(&',');
    if grouping {
        i += 1;
    }
    let precision = if chars.get(i) == Some(&'.') {
        i += 1;
        Some(digits(&mut i)?)
    } else {
        None
    };
    let kind = chars.get(i).copied();
    if i + usize::from(kind.is_some()) != chars.len() {
        return None;
    }
    let (negative, body, numeric) = match (value, kind) {
        (Value::String(s), None | Some('s')) if !grouping => {
            let s = precision.map_or(s.clone(), |p| s.chars().take(p).collect());
            (false, s, false)
        }
        (Value::Number(n), Some('d' | 'x' | 'X' | 'o' | 'b') | None)
            if n.as_i64().is_some() && precision.is_none() =>
        {
            let v = n.as_i64()?;
            let abs = v.unsigned_abs();
            let body = match kind {
                Some('x') => format!("{abs:x}"),
                Some('X') => format!("{abs:X}"),
                Some('o') => format!("{abs:o}"),
                Some('b') => format!("{abs:b}"),
                _ if grouping => group(&abs.to_string()),
                _ => abs.to_string(),
            };
            (v < 0, body, true)
        }
        (Value::Number(n), Some('f' | 'F' | '%') | None) => {
            let mut v = n.as_f64()?;
            if kind == Some('%') {
                v *= 100.0;
            }
            let body = match (kind, precision) {
                (None, None) => crate::render::py_float(v.abs()),
                (None, Some(p)) => format!("{:.*}", p, v.abs()),
                (_, p) => format!("{:.*}", p.unwrap_or(6), v.abs()),
            };
            let body = if grouping { group_float(&body) } else { body };
            let body = if kind == Some('%') {
                format!("{body}%")
            } else {
                body
            };
            (v.is_sign_negative() && v != 0.0, body, true)
        }
        _ => return None,
    };
    let sign_text = match (negative, sign) {
        (true, _) => "-",
        (false, '+') if numeric => "+",
        (false, ' ') if numeric => " ",
        _ => "",
    };
    let len = sign_text.chars().count() + body.chars().count();
    let pad = width.saturating_sub(len);
    let fill_n = |n: usize| fill.to_string().repeat(n);
    Some(match align.unwrap_or(if numeric { '>' } else { '<' }) {
        '<' => format!("{sign_text}{body}{}", fill_n(pad)),
        '^' => format!(
            "{}{sign_text}{body}{}",
            fill_n(pad / 2),
            fill_n(pad - pad / 2)
        ),
        '=' => format!("{sign_text}{}{body}", fill_n(pad)),
        _ => format!("{}{sign_text}{body}", fill_n(pad)),
    })
}

fn group(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn group_float(text: &str) -> String {
    match text.split_once('.') {
        Some((int, frac)) => format!("{}.{frac}", group(int)),
        None => group(text),
    }
}

#[cfg(test)]
mod tests;
