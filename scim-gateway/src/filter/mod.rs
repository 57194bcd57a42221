//! SCIM filters (RFC 7644 §3.4.2.2): [`parse`]d into one typed tree, [`translate`]d into the
//! identity service's structured filter for list calls, and [`evaluate`]d against the elements
//! of a multi-valued attribute for PATCH value paths.

pub(crate) mod evaluate;
mod parse;
pub(crate) mod translate;

pub(crate) use crate::scim::document::parse_bool;
pub(crate) use parse::parse;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
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
    pub(crate) fn parse(word: &str) -> Option<Op> {
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
}
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// Only with [`Op::Pr`].
    None,
    Null,
    Bool(bool),
    Number(String),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Filter {
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
