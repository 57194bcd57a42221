//! The filter grammar: tokens, then a recursive-descent parser bounded in length and depth.

use super::{Filter, Literal, Op};
use crate::scim::error::{ScimError, ScimResult};

/// Longest filter accepted, in bytes.
const MAX_FILTER_BYTES: usize = 8 * 1024;
/// Deepest nesting of `and`/`or`/`not`/parentheses/value paths accepted: the contract's, so
/// that a filter that parses is one the service runs.
const MAX_DEPTH: usize = identity_proto::filter::MAX_DEPTH;

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

pub(crate) fn parse(input: &str) -> ScimResult<Filter> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

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
