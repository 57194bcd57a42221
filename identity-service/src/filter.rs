//! Filters as plain data between the API and the store: a typed expression tree over the fields
//! a resource can be filtered on. The API layer builds it from the wire (and rejects what cannot
//! be served); the store compiles it to SQL with bound parameters.

use crate::model::Micros;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter<F> {
    And(Vec<Filter<F>>),
    Or(Vec<Filter<F>>),
    Not(Box<Filter<F>>),
    Compare(Comparison<F>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison<F> {
    pub field: F,
    pub op: Op,
    pub value: Value,
    /// For a multi-valued field: only its elements of this type (case-folded) are compared.
    pub element_type: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Contains,
    StartsWith,
    EndsWith,
    Present,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Only with [`Op::Present`].
    None,
    Text(String),
    Bool(bool),
    Time(Micros),
}

/// What values a field holds, which decides the operators and values it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    /// Compared byte for byte (ids, external ids).
    ExactText,
    /// Compared case-insensitively (names, emails).
    FoldedText,
    Bool,
    Time,
    /// A reference to another resource: `eq` and `pr` only.
    Reference,
}

pub(crate) trait FilterField: Copy + Sized {
    fn parse(name: &str) -> Option<Self>;
    fn field_type(self) -> FieldType;
    fn names() -> &'static [&'static str];
    /// Whether the field holds typed elements (so a comparison may name an element type).
    fn has_typed_elements(self) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    Id,
    UserName,
    ExternalId,
    DisplayName,
    GivenName,
    FamilyName,
    Email,
    Active,
    ManagedBy,
    CreateTime,
    UpdateTime,
}

impl FilterField for UserField {
    fn parse(name: &str) -> Option<Self> {
        use identity_proto::fields::user as f;
        Some(match name {
            f::ID => UserField::Id,
            f::USER_NAME => UserField::UserName,
            f::EXTERNAL_ID => UserField::ExternalId,
            f::DISPLAY_NAME => UserField::DisplayName,
            f::GIVEN_NAME => UserField::GivenName,
            f::FAMILY_NAME => UserField::FamilyName,
            f::EMAIL => UserField::Email,
            f::ACTIVE => UserField::Active,
            f::MANAGED_BY => UserField::ManagedBy,
            f::CREATE_TIME => UserField::CreateTime,
            f::UPDATE_TIME => UserField::UpdateTime,
            _ => return None,
        })
    }

    fn field_type(self) -> FieldType {
        match self {
            UserField::Id | UserField::ExternalId => FieldType::ExactText,
            UserField::UserName
            | UserField::DisplayName
            | UserField::GivenName
            | UserField::FamilyName
            | UserField::Email => FieldType::FoldedText,
            UserField::Active => FieldType::Bool,
            UserField::ManagedBy => FieldType::Reference,
            UserField::CreateTime | UserField::UpdateTime => FieldType::Time,
        }
    }

    fn has_typed_elements(self) -> bool {
        self == UserField::Email
    }

    fn names() -> &'static [&'static str] {
        identity_proto::fields::user::FILTERABLE
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupField {
    Id,
    DisplayName,
    ExternalId,
    Member,
    ManagedBy,
    CreateTime,
    UpdateTime,
    /// Whether SCIM may see and link the group (not on the wire: the API adds it for SCIM keys).
    Linkable,
}

impl FilterField for GroupField {
    fn parse(name: &str) -> Option<Self> {
        use identity_proto::fields::group as f;
        Some(match name {
            f::ID => GroupField::Id,
            f::DISPLAY_NAME => GroupField::DisplayName,
            f::EXTERNAL_ID => GroupField::ExternalId,
            f::MEMBER => GroupField::Member,
            f::MANAGED_BY => GroupField::ManagedBy,
            f::CREATE_TIME => GroupField::CreateTime,
            f::UPDATE_TIME => GroupField::UpdateTime,
            _ => return None,
        })
    }

    fn field_type(self) -> FieldType {
        match self {
            GroupField::Id | GroupField::ExternalId => FieldType::ExactText,
            GroupField::DisplayName => FieldType::FoldedText,
            GroupField::Member | GroupField::ManagedBy => FieldType::Reference,
            GroupField::CreateTime | GroupField::UpdateTime => FieldType::Time,
            GroupField::Linkable => FieldType::Bool,
        }
    }

    fn names() -> &'static [&'static str] {
        identity_proto::fields::group::FILTERABLE
    }
}

/// Why a comparison cannot be served, or `None` when it can.
pub(crate) fn check_comparison(
    field_type: FieldType,
    op: Op,
    value: &Value,
) -> Option<&'static str> {
    use FieldType as T;
    match (op, value) {
        (Op::Present, Value::None) => return None,
        (Op::Present, _) => return Some("operator pr takes no value"),
        (_, Value::None) => return Some("operator needs a value"),
        _ => {}
    }
    let value_fits = matches!(
        (field_type, value),
        (T::ExactText | T::FoldedText | T::Reference, Value::Text(_))
            | (T::Bool, Value::Bool(_))
            | (T::Time, Value::Time(_))
    );
    if !value_fits {
        return Some(match field_type {
            T::ExactText | T::FoldedText | T::Reference => "field takes a string value",
            T::Bool => "field takes a bool value",
            T::Time => "field takes a time value",
        });
    }
    let op_fits = match field_type {
        T::ExactText | T::FoldedText => true,
        T::Bool | T::Reference => matches!(op, Op::Eq | Op::Ne),
        T::Time => !matches!(op, Op::Contains | Op::StartsWith | Op::EndsWith),
    };
    if op_fits {
        None
    } else {
        Some("operator not supported on this field")
    }
}
