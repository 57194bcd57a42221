//! SCIM filters (RFC 7644 §3.4.2.2) parsed into a typed tree. The tree is translated into the
//! identity service's structured filter for list calls (`to_user_filter`, `to_group_filter`)
//! and evaluated directly against multi-valued attribute elements for PATCH value paths.

use identity_proto::v1 as pb;
use serde_json::Value;

use crate::error::{ScimError, ScimResult};
use crate::schema::{self, Attribute};

/// Longest filter accepted, in bytes.
const MAX_FILTER_BYTES: usize = 8 * 1024;
/// Deepest nesting of `and`/`or`/`not`/parentheses/value paths accepted.
const MAX_DEPTH: usize = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Pr,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "pr" => Op::Pr,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }

    fn to_pb(self) -> pb::Operator {
        match self {
            Op::Eq => pb::Operator::Eq,
            Op::Ne => pb::Operator::Ne,
            Op::Co => pb::Operator::Co,
            Op::Sw => pb::Operator::Sw,
            Op::Ew => pb::Operator::Ew,
            Op::Pr => pb::Operator::Pr,
            Op::Gt => pb::Operator::Gt,
            Op::Ge => pb::Operator::Ge,
            Op::Lt => pb::Operator::Lt,
            Op::Le => pb::Operator::Le,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Only with [`Op::Pr`].
    None,
    Null,
    Bool(bool),
    Number(String),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    /// `path op value`; `path` may be URN-qualified and dotted (`name.familyName`).
    Compare {
        path: String,
        op: Op,
        value: Literal,
    },
    /// `attribute[filter]`: some element of a multi-valued attribute matches `filter` (whose
    /// paths are sub-attributes). `emails[type eq "work"].value eq "x"` parses into a value
    /// path whose filter is `type eq "work" and value eq "x"`.
    ValuePath {
        attribute: String,
        filter: Box<Filter>,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    OpenBracket,
    CloseBracket,
    Text(String),
    Word(String),
}

fn tokenize(input: &str) -> ScimResult<Vec<Token>> {
    let mut tokens = Vec::new();
    let bytes = input.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b' ' | b'\t' | b'\r' | b'\n' => at += 1,
            b'(' => {
                tokens.push(Token::Open);
                at += 1;
            }
            b')' => {
                tokens.push(Token::Close);
                at += 1;
            }
            b'[' => {
                tokens.push(Token::OpenBracket);
                at += 1;
            }
            b']' => {
                tokens.push(Token::CloseBracket);
                at += 1;
            }
            b'"' => {
                let start = at;
                at += 1;
                loop {
                    match bytes.get(at) {
                        None => {
                            return Err(ScimError::invalid_filter("unterminated string in filter"));
                        }
                        Some(b'\\') => at += 2,
                        Some(b'"') => break,
                        Some(_) => at += 1,
                    }
                }
                at += 1;
                let literal = input.get(start..at).unwrap_or_default();
                let text: String = serde_json::from_str(literal).map_err(|error| {
                    ScimError::invalid_filter(format!("bad string {literal} in filter: {error}"))
                })?;
                tokens.push(Token::Text(text));
            }
            _ => {
                let start = at;
                while at < bytes.len()
                    && !matches!(
                        bytes[at],
                        b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b'[' | b']' | b'"'
                    )
                {
                    at += 1;
                }
                tokens.push(Token::Word(input[start..at].to_owned()));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(word)) if word.eq_ignore_ascii_case(keyword))
    }

    fn expect(&mut self, expected: &Token, what: &str) -> ScimResult<()> {
        match self.next() {
            Some(token) if token == *expected => Ok(()),
            Some(token) => Err(ScimError::invalid_filter(format!(
                "expected {what}, found {}",
                describe(&token)
            ))),
            None => Err(ScimError::invalid_filter(format!(
                "expected {what}, found the end of the filter"
            ))),
        }
    }

    fn nested<T>(&mut self, parse: impl FnOnce(&mut Self) -> ScimResult<T>) -> ScimResult<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ScimError::invalid_filter(format!(
                "filter nests deeper than {MAX_DEPTH} levels"
            )));
        }
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> ScimResult<Filter> {
        let mut left = self.and()?;
        while self.peek_keyword("or") {
            self.at += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> ScimResult<Filter> {
        let mut left = self.unary()?;
        while self.peek_keyword("and") {
            self.at += 1;
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> ScimResult<Filter> {
        if self.peek_keyword("not") {
            self.at += 1;
            self.expect(&Token::Open, "'(' after not")?;
            let inner = self.nested(Self::or)?;
            self.expect(&Token::Close, "')'")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.nested(Self::or)?;
                self.expect(&Token::Close, "')'")?;
                Ok(inner)
            }
            Some(Token::Word(path)) => {
                if !is_attribute_path(&path) {
                    return Err(ScimError::invalid_filter(format!(
                        "expected an attribute name, found {path:?}"
                    )));
                }
                if self.peek() == Some(&Token::OpenBracket) {
                    self.at += 1;
                    let inner = self.nested(Self::or)?;
                    self.expect(&Token::CloseBracket, "']'")?;
                    let filter = match self.peek() {
                        Some(Token::Word(word)) if word.starts_with('.') => {
                            let sub = word[1..].to_owned();
                            self.at += 1;
                            let comparison = self.comparison(sub)?;
                            Filter::And(Box::new(inner), Box::new(comparison))
                        }
                        _ => inner,
                    };
                    return Ok(Filter::ValuePath {
                        attribute: path,
                        filter: Box::new(filter),
                    });
                }
                self.comparison(path)
            }
            Some(token) => Err(ScimError::invalid_filter(format!(
                "expected an attribute name, found {}",
                describe(&token)
            ))),
            None => Err(ScimError::invalid_filter(
                "expected an attribute name, found the end of the filter",
            )),
        }
    }

    fn comparison(&mut self, path: String) -> ScimResult<Filter> {
        let op = match self.next() {
            Some(Token::Word(word)) => Op::parse(&word).ok_or_else(|| {
                ScimError::invalid_filter(format!("unknown operator {word:?} after {path}"))
            })?,
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "expected an operator after {path}"
                )));
            }
        };
        if op == Op::Pr {
            return Ok(Filter::Compare {
                path,
                op,
                value: Literal::None,
            });
        }
        let value = match self.next() {
            Some(Token::Text(text)) => Literal::Text(text),
            Some(Token::Word(word)) => match word.to_ascii_lowercase().as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                _ if word.parse::<f64>().is_ok() => Literal::Number(word),
                _ => {
                    return Err(ScimError::invalid_filter(format!(
                        "expected a value after {path}, found {word:?} (strings are quoted)"
                    )));
                }
            },
            _ => {
                return Err(ScimError::invalid_filter(format!(
                    "expected a value after {path}"
                )));
            }
        };
        Ok(Filter::Compare { path, op, value })
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::OpenBracket => "'['".into(),
        Token::CloseBracket => "']'".into(),
        Token::Text(text) => format!("{text:?}"),
        Token::Word(word) => format!("{word:?}"),
    }
}

fn is_attribute_path(word: &str) -> bool {
    let first = word.chars().next();
    first.is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && Op::parse(word).is_none()
        && !["and", "or", "not"]
            .iter()
            .any(|keyword| word.eq_ignore_ascii_case(keyword))
}

pub fn parse(input: &str) -> ScimResult<Filter> {
    if input.len() > MAX_FILTER_BYTES {
        return Err(ScimError::invalid_filter(format!(
            "filter longer than {MAX_FILTER_BYTES} bytes"
        )));
    }
    let mut parser = Parser {
        tokens: tokenize(input)?,
        at: 0,
        depth: 0,
    };
    if parser.tokens.is_empty() {
        return Err(ScimError::invalid_filter("empty filter"));
    }
    let filter = parser.or()?;
    match parser.next() {
        None => Ok(filter),
        Some(token) => Err(ScimError::invalid_filter(format!(
            "unexpected {} in filter",
            describe(&token)
        ))),
    }
}

// ---- translation to the identity service's filter ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Text,
    Bool,
    Time,
}

/// A filterable SCIM attribute and the service field it maps to.
struct Field {
    scim: &'static str,
    service: &'static str,
    kind: FieldKind,
}

const USER_FIELDS: &[Field] = &[
    Field {
        scim: "id",
        service: "id",
        kind: FieldKind::Text,
    },
    Field {
        scim: "userName",
        service: "user_name",
        kind: FieldKind::Text,
    },
    Field {
        scim: "externalId",
        service: "external_id",
        kind: FieldKind::Text,
    },
    Field {
        scim: "displayName",
        service: "display_name",
        kind: FieldKind::Text,
    },
    Field {
        scim: "name.givenName",
        service: "given_name",
        kind: FieldKind::Text,
    },
    Field {
        scim: "name.familyName",
        service: "family_name",
        kind: FieldKind::Text,
    },
    Field {
        scim: "emails",
        service: "email",
        kind: FieldKind::Text,
    },
    Field {
        scim: "emails.value",
        service: "email",
        kind: FieldKind::Text,
    },
    Field {
        scim: "active",
        service: "active",
        kind: FieldKind::Bool,
    },
    Field {
        scim: "meta.created",
        service: "created_at",
        kind: FieldKind::Time,
    },
    Field {
        scim: "meta.lastModified",
        service: "updated_at",
        kind: FieldKind::Time,
    },
];

const GROUP_FIELDS: &[Field] = &[
    Field {
        scim: "id",
        service: "id",
        kind: FieldKind::Text,
    },
    Field {
        scim: "displayName",
        service: "display_name",
        kind: FieldKind::Text,
    },
    Field {
        scim: "externalId",
        service: "external_id",
        kind: FieldKind::Text,
    },
    Field {
        scim: "members",
        service: "member",
        kind: FieldKind::Text,
    },
    Field {
        scim: "members.value",
        service: "member",
        kind: FieldKind::Text,
    },
    Field {
        scim: "meta.created",
        service: "created_at",
        kind: FieldKind::Time,
    },
    Field {
        scim: "meta.lastModified",
        service: "updated_at",
        kind: FieldKind::Time,
    },
];

struct Target {
    resource_type: &'static schema::ResourceType,
    fields: &'static [Field],
    /// The multi-valued attribute whose value paths the service can serve, and its service
    /// field: `emails` → `email` (with an element type), `members` → `member`.
    element: (&'static str, &'static str),
}

const USERS: Target = Target {
    resource_type: &schema::USER_TYPE,
    fields: USER_FIELDS,
    element: ("emails", "email"),
};

const GROUPS: Target = Target {
    resource_type: &schema::GROUP_TYPE,
    fields: GROUP_FIELDS,
    element: ("members", "member"),
};

pub fn to_user_filter(filter: &Filter) -> ScimResult<pb::Filter> {
    within_limits(translate(filter, &USERS)?)
}

pub fn to_group_filter(filter: &Filter) -> ScimResult<pb::Filter> {
    within_limits(translate(filter, &GROUPS)?)
}

/// The service's own limits, checked on the filter as it will receive it (a SCIM term may
/// become several), so that every filter accepted here is one the service runs.
fn within_limits(filter: pb::Filter) -> ScimResult<pb::Filter> {
    identity_proto::filter::check_limits(&filter).map_err(ScimError::invalid_filter)?;
    Ok(filter)
}

/// Drops the core schema's URN prefix (`urn:…:core:2.0:User:userName` → `userName`).
fn core_path<'p>(target: &Target, path: &'p str) -> ScimResult<&'p str> {
    match target.resource_type.split_urn(path) {
        Some((schema, rest)) if schema.id == target.resource_type.core.id => Ok(rest),
        Some(_) => Err(ScimError::invalid_filter(format!(
            "filtering on {path} is not supported"
        ))),
        None => Ok(path),
    }
}

fn translate(filter: &Filter, target: &Target) -> ScimResult<pb::Filter> {
    use pb::filter::Expression;
    let expression = match filter {
        // `a and b and c` is one list, not a nested pair per term (the service bounds depth).
        Filter::And(..) | Filter::Or(..) => {
            let conjunction = matches!(filter, Filter::And(..));
            let mut terms = Vec::new();
            flatten(filter, conjunction, &mut terms);
            let filters = terms
                .into_iter()
                .map(|term| translate(term, target))
                .collect::<ScimResult<Vec<_>>>()?;
            let list = pb::FilterList { filters };
            if conjunction {
                Expression::And(list)
            } else {
                Expression::Or(list)
            }
        }
        Filter::Not(inner) => Expression::Not(Box::new(translate(inner, target)?)),
        Filter::Compare { path, op, value } => {
            let path = core_path(target, path)?;
            let field = target
                .fields
                .iter()
                .find(|field| field.scim.eq_ignore_ascii_case(path))
                .ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "filtering on {path} is not supported; filterable attributes: {}",
                        target
                            .fields
                            .iter()
                            .map(|field| field.scim)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let comparison = comparison(field.service, field.kind, path, *op, value)?;
            return Ok(with_answered_email(comparison));
        }
        Filter::ValuePath { attribute, filter } => {
            let attribute = core_path(target, attribute)?;
            let (element, service_field) = target.element;
            if !attribute.eq_ignore_ascii_case(element) {
                return Err(ScimError::invalid_filter(format!(
                    "value filters are supported on {element} only, not on {attribute}"
                )));
            }
            let comparison = element_comparison(service_field, element, filter)?;
            return Ok(with_answered_email(comparison));
        }
    };
    Ok(pb::Filter {
        expression: Some(expression),
    })
}

fn comparison(
    service_field: &str,
    kind: FieldKind,
    path: &str,
    op: Op,
    value: &Literal,
) -> ScimResult<pb::Comparison> {
    use pb::filter_value::Kind as V;
    let value = match (kind, value) {
        (_, Literal::None) => None,
        (FieldKind::Text, Literal::Text(text)) => Some(V::StringValue(text.clone())),
        (FieldKind::Bool, Literal::Bool(flag)) => Some(V::BoolValue(*flag)),
        // Entra and others send booleans as strings too.
        (FieldKind::Bool, Literal::Text(text)) => {
            Some(V::BoolValue(parse_bool(text).ok_or_else(|| {
                ScimError::invalid_filter(format!("{path} takes true or false, not {text:?}"))
            })?))
        }
        (FieldKind::Time, Literal::Text(text)) => {
            let time: prost_types::Timestamp = text.parse().map_err(|_| {
                ScimError::invalid_filter(format!("{path} takes an RFC 3339 time, not {text:?}"))
            })?;
            Some(V::TimeValue(time))
        }
        (_, other) => {
            return Err(ScimError::invalid_filter(format!(
                "{path} cannot be compared with {}",
                match other {
                    Literal::Null => "null".to_owned(),
                    Literal::Bool(flag) => flag.to_string(),
                    Literal::Number(number) => number.clone(),
                    Literal::Text(text) => format!("{text:?}"),
                    Literal::None => String::new(),
                }
            )));
        }
    };
    Ok(pb::Comparison {
        field: service_field.to_owned(),
        op: op.to_pb() as i32,
        value: value.map(|kind| pb::FilterValue { kind: Some(kind) }),
        element_type: String::new(),
    })
}

fn leaf(comparison: pb::Comparison) -> pb::Filter {
    pb::Filter {
        expression: Some(pb::filter::Expression::Comparison(comparison)),
    }
}

/// A user without emails whose userName is an address is answered with that address as its
/// primary work email (see `user::to_document`); email filters find such users too, so that
/// what a filter matches agrees with what a GET shows.
fn with_answered_email(comparison: pb::Comparison) -> pb::Filter {
    use pb::filter::Expression;
    let answers_user_name = comparison.field == "email"
        && (comparison.element_type.is_empty()
            || comparison.element_type.eq_ignore_ascii_case("work"));
    if !answers_user_name {
        return leaf(comparison);
    }
    let op = pb::Operator::try_from(comparison.op).unwrap_or(pb::Operator::Unspecified);
    // `ne` is the negation of `eq` over the same union.
    if op == pb::Operator::Ne {
        let equal = pb::Comparison {
            op: pb::Operator::Eq as i32,
            ..comparison
        };
        return pb::Filter {
            expression: Some(Expression::Not(Box::new(with_answered_email(equal)))),
        };
    }
    let text = |field: &str, op: pb::Operator, value: Option<pb::FilterValue>| {
        leaf(pb::Comparison {
            field: field.to_owned(),
            op: op as i32,
            value,
            element_type: String::new(),
        })
    };
    let mut answered = vec![
        pb::Filter {
            expression: Some(Expression::Not(Box::new(text(
                "email",
                pb::Operator::Pr,
                None,
            )))),
        },
        text(
            "user_name",
            pb::Operator::Co,
            Some(pb::FilterValue {
                kind: Some(pb::filter_value::Kind::StringValue("@".to_owned())),
            }),
        ),
    ];
    if op != pb::Operator::Pr {
        answered.push(text("user_name", op, comparison.value.clone()));
    }
    pb::Filter {
        expression: Some(Expression::Or(pb::FilterList {
            filters: vec![
                leaf(comparison),
                pb::Filter {
                    expression: Some(Expression::And(pb::FilterList { filters: answered })),
                },
            ],
        })),
    }
}

/// `emails[type eq "work" and value eq "x"]` → `email eq "x"` on work emails;
/// `members[value eq "u"]` → `member eq "u"`.
fn element_comparison(
    service_field: &str,
    element: &str,
    filter: &Filter,
) -> ScimResult<pb::Comparison> {
    let mut terms = Vec::new();
    flatten(filter, true, &mut terms);
    let mut value_term = None;
    let mut element_type = String::new();
    for term in terms {
        let unsupported = || {
            ScimError::invalid_filter(format!(
                "{element}[…] supports value comparisons{} joined by and",
                if element == "emails" {
                    " and type eq"
                } else {
                    ""
                }
            ))
        };
        let Filter::Compare { path, op, value } = term else {
            return Err(unsupported());
        };
        if path.eq_ignore_ascii_case("value") && value_term.is_none() {
            value_term = Some((*op, value));
        } else if path.eq_ignore_ascii_case("type")
            && element == "emails"
            && *op == Op::Eq
            && element_type.is_empty()
        {
            let Literal::Text(kind) = value else {
                return Err(unsupported());
            };
            element_type.clone_from(kind);
        } else {
            return Err(unsupported());
        }
    }
    let (op, value) = value_term.unwrap_or((Op::Pr, &Literal::None));
    let mut comparison = comparison(
        service_field,
        FieldKind::Text,
        &format!("{element}.value"),
        op,
        value,
    )?;
    comparison.element_type = element_type;
    Ok(comparison)
}

/// The terms of a chain of `and`s (`conjunction`) or of `or`s.
fn flatten<'f>(filter: &'f Filter, conjunction: bool, terms: &mut Vec<&'f Filter>) {
    match filter {
        Filter::And(left, right) if conjunction => {
            flatten(left, conjunction, terms);
            flatten(right, conjunction, terms);
        }
        Filter::Or(left, right) if !conjunction => {
            flatten(left, conjunction, terms);
            flatten(right, conjunction, terms);
        }
        other => terms.push(other),
    }
}

pub fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

// ---- evaluation against one element of a multi-valued attribute (PATCH value paths) ----

/// Whether `element` (an object of sub-attributes described by `attributes`) matches.
pub fn matches(filter: &Filter, element: &Value, attributes: &[Attribute]) -> ScimResult<bool> {
    Ok(match filter {
        Filter::And(left, right) => {
            matches(left, element, attributes)? && matches(right, element, attributes)?
        }
        Filter::Or(left, right) => {
            matches(left, element, attributes)? || matches(right, element, attributes)?
        }
        Filter::Not(inner) => !matches(inner, element, attributes)?,
        Filter::ValuePath { .. } => {
            return Err(ScimError::invalid_path("value filters do not nest"));
        }
        Filter::Compare { path, op, value } => {
            let attribute = schema::find(attributes, path).ok_or_else(|| {
                ScimError::invalid_path(format!("unknown sub-attribute {path} in a value filter"))
            })?;
            let actual = element
                .as_object()
                .and_then(|object| {
                    object
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(attribute.name))
                })
                .map(|(_, value)| value)
                .filter(|value| !value.is_null());
            compare(actual, *op, value, attribute.case_exact)
        }
    })
}

fn compare(actual: Option<&Value>, op: Op, expected: &Literal, case_exact: bool) -> bool {
    let Some(actual) = actual else {
        return op == Op::Ne;
    };
    if op == Op::Pr {
        return !matches!(actual, Value::String(text) if text.is_empty());
    }
    match (actual, expected) {
        (Value::Bool(actual), Literal::Bool(expected)) => match op {
            Op::Eq => actual == expected,
            Op::Ne => actual != expected,
            _ => false,
        },
        (Value::Bool(actual), Literal::Text(expected)) => match parse_bool(expected) {
            Some(expected) => (op == Op::Eq) == (*actual == expected),
            None => false,
        },
        (Value::String(actual), Literal::Text(expected)) => {
            let (actual, expected) = if case_exact {
                (actual.clone(), expected.clone())
            } else {
                (actual.to_lowercase(), expected.to_lowercase())
            };
            match op {
                Op::Eq => actual == expected,
                Op::Ne => actual != expected,
                Op::Co => actual.contains(&expected),
                Op::Sw => actual.starts_with(&expected),
                Op::Ew => actual.ends_with(&expected),
                Op::Gt => actual > expected,
                Op::Ge => actual >= expected,
                Op::Lt => actual < expected,
                Op::Le => actual <= expected,
                Op::Pr => true,
            }
        }
        (_, _) => op == Op::Ne,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_okta_and_entra_send() {
        let filter = parse(r#"emails[type eq "work"].value eq "a@b.c""#).map_err(|e| e.detail);
        assert!(matches!(filter, Ok(Filter::ValuePath { .. })), "{filter:?}");
        let filter = parse(r#"id eq "g" AND members eq "u""#).map_err(|e| e.detail);
        assert!(matches!(filter, Ok(Filter::And(..))), "{filter:?}");
        let filter = parse(r#"not (userName sw "a\"b\\c\u0041")"#).map_err(|e| e.detail);
        assert_eq!(
            filter,
            Ok(Filter::Not(Box::new(Filter::Compare {
                path: "userName".into(),
                op: Op::Sw,
                value: Literal::Text("a\"b\\cA".into()),
            })))
        );
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName xx \"a\"",
            "(userName eq \"a\"",
            "userName eq \"a\" extra",
            "userName eq unquoted",
            "\"a\" eq userName",
            "emails[type eq \"work\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = format!("{}userName pr{}", "(".repeat(200), ")".repeat(200));
        assert!(parse(&deep).is_err());
    }
}
