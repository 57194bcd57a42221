//! SCIM PATCH (RFC 7644 §3.5.2) as Okta and Entra send it, read once for every resource:
//! case-insensitive ops, paths with value filters, no-path value objects (dotted and
//! URN-qualified keys), each operation resolved against the resource's schema into [`Step`]s.
//! Two back ends apply them: [`document`] to a user's canonical document, and the groups'
//! `ModifyGroup` plan. Any failing operation fails the whole PATCH before anything is written.

pub(crate) mod document;

use serde_json::Value;

use crate::filter::Filter;
use crate::scim::document::{self as doc, Resolved};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{self, Attribute, Mutability, ResourceType, Returned, Schema};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
struct Operation {
    op: OpKind,
    path: Option<Path>,
    value: Option<Value>,
}

/// `attribute[filter].sub`, each part optional but the attribute.
#[derive(Debug, Clone)]
struct Path {
    text: String,
    attribute: String,
    filter: Option<Filter>,
    sub: Option<String>,
}

/// Operations in one PATCH, and values in one operation (elements of a multi-valued value, or
/// attributes of a value object): far above what Okta and Entra send (Okta pushes members in
/// batches of at most a few hundred), and what the service takes in one call.
pub(crate) const MAX_OPERATIONS: usize = 1000;
pub(crate) const MAX_VALUES_PER_OPERATION: usize = 10_000;

/// How many values an operation carries (see [`MAX_VALUES_PER_OPERATION`]).
fn value_count(value: &Value) -> usize {
    match value {
        Value::Array(elements) => elements.len(),
        Value::Object(object) => object
            .values()
            .map(|inner| match inner {
                Value::Array(elements) => elements.len().max(1),
                _ => 1,
            })
            .sum(),
        _ => 1,
    }
}

/// Parses a PatchOp body. `Operations` may be spelled in any case; `schemas`, when present,
/// must name the PatchOp message.
fn parse(body: Value) -> ScimResult<Vec<Operation>> {
    let Value::Object(body) = body else {
        return Err(ScimError::invalid_syntax(
            "a PATCH body is a PatchOp object",
        ));
    };
    let mut operations = None;
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            let names_patch_op = value.as_array().is_some_and(|schemas| {
                schemas.iter().any(|schema| {
                    schema
                        .as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(schema::PATCH_OP))
                })
            });
            if !names_patch_op {
                return Err(ScimError::invalid_syntax(format!(
                    "schemas must contain {}",
                    schema::PATCH_OP
                )));
            }
        } else if key.eq_ignore_ascii_case("operations") {
            operations = Some(value);
        }
    }
    let Some(Value::Array(operations)) = operations else {
        return Err(ScimError::invalid_syntax(
            "Operations (an array) is required",
        ));
    };
    if operations.is_empty() {
        return Err(ScimError::invalid_syntax("Operations is empty"));
    }
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::too_many(format!(
            "{} operations in one PATCH; at most {MAX_OPERATIONS}: split the request",
            operations.len()
        )));
    }
    operations
        .into_iter()
        .enumerate()
        .map(|(index, operation)| parse_operation(index, operation))
        .collect()
}

fn parse_operation(index: usize, operation: Value) -> ScimResult<Operation> {
    let Value::Object(operation) = operation else {
        return Err(ScimError::invalid_syntax(format!(
            "Operations[{index}] must be an object"
        )));
    };
    let (mut op, mut path, mut value) = (None, None, None);
    for (key, field) in operation {
        match key.to_ascii_lowercase().as_str() {
            "op" => op = Some(field),
            "path" => path = Some(field),
            "value" => value = Some(field),
            _ => {}
        }
    }
    let op = match op
        .as_ref()
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("add") => OpKind::Add,
        Some("replace") => OpKind::Replace,
        Some("remove") => OpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(format!(
                "Operations[{index}].op must be add, replace or remove"
            )));
        }
    };
    let path = match path {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.trim().is_empty() => None,
        Some(Value::String(text)) => Some(parse_path(&text)?),
        Some(_) => {
            return Err(ScimError::invalid_path(format!(
                "Operations[{index}].path must be a string"
            )));
        }
    };
    if op != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value(format!(
            "Operations[{index}] ({op:?}) needs a value"
        )));
    }
    if let Some(count) = value.as_ref().map(value_count)
        && count > MAX_VALUES_PER_OPERATION
    {
        return Err(ScimError::too_many(format!(
            "Operations[{index}] carries {count} values; at most {MAX_VALUES_PER_OPERATION} in \
             one operation: split the request"
        )));
    }
    Ok(Operation { op, path, value })
}

fn parse_path(text: &str) -> ScimResult<Path> {
    let text = text.trim();
    let Some(open) = text.find('[') else {
        if text.contains(char::is_whitespace) || text.contains(']') {
            return Err(ScimError::invalid_path(format!("bad path {text:?}")));
        }
        return Ok(Path {
            text: text.to_owned(),
            attribute: text.to_owned(),
            filter: None,
            sub: None,
        });
    };
    let close = text
        .rfind(']')
        .filter(|close| *close > open)
        .ok_or_else(|| ScimError::invalid_path(format!("unbalanced brackets in path {text:?}")))?;
    let filter = crate::filter::parse(&text[open + 1..close])
        .map_err(|error| ScimError::invalid_path(format!("path {text:?}: {}", error.detail)))?;
    let sub = match &text[close + 1..] {
        "" => None,
        rest => Some(
            rest.strip_prefix('.')
                .filter(|sub| !sub.is_empty() && !sub.contains(['.', '[', ']', ' ']))
                .ok_or_else(|| ScimError::invalid_path(format!("bad path {text:?}")))?
                .to_owned(),
        ),
    };
    Ok(Path {
        text: text.to_owned(),
        attribute: text[..open].to_owned(),
        filter: Some(filter),
        sub,
    })
}

/// One resolved change: what an operation (or one attribute of its value object) targets.
#[derive(Debug)]
pub(crate) struct Step {
    pub op: OpKind,
    /// The path as sent, for error messages.
    pub text: String,
    pub target: Target,
    pub value: Option<Value>,
}

#[derive(Debug)]
pub(crate) enum Target {
    /// `externalId`, the one common attribute a client may change.
    ExternalId,
    /// A whole extension, removed.
    Extension(&'static Schema),
    /// An attribute, one sub-attribute of it, or the elements a value filter selects.
    Attribute {
        schema: &'static Schema,
        attribute: &'static Attribute,
        sub: Option<&'static Attribute>,
        filter: Option<Filter>,
    },
}

impl Target {
    /// The attribute a step changes whole (no sub-attribute, no filter), by name.
    pub(crate) fn whole_attribute(&self) -> Option<&'static str> {
        match self {
            Target::Attribute {
                attribute,
                sub: None,
                filter: None,
                ..
            } => Some(attribute.name),
            _ => None,
        }
    }
}

/// Reads a PatchOp body and resolves its operations, in order, into steps.
pub(crate) fn plan(resource_type: &ResourceType, body: Value) -> ScimResult<Vec<Step>> {
    let mut steps = Vec::new();
    for operation in parse(body)? {
        match operation.path {
            Some(path) => resolve_path(
                resource_type,
                operation.op,
                path,
                operation.value,
                &mut steps,
            )?,
            None => expand_value_object(resource_type, operation.op, operation.value, &mut steps)?,
        }
    }
    Ok(steps)
}

/// No path: `value` is an object of attributes (keys may be dotted or URN-qualified).
fn expand_value_object(
    resource_type: &ResourceType,
    op: OpKind,
    value: Option<Value>,
    steps: &mut Vec<Step>,
) -> ScimResult<()> {
    if op == OpKind::Remove {
        return Err(ScimError::no_target("remove needs a path"));
    }
    let Some(Value::Object(values)) = value else {
        return Err(ScimError::invalid_value(
            "without a path, value must be an object of attributes",
        ));
    };
    for (key, value) in values {
        match doc::resolve(resource_type, &key) {
            // Okta sends the id (and other read-only data) along in value objects.
            Some(Resolved::Common("id" | "meta" | "schemas")) | None => {}
            Some(Resolved::Extension(extension)) => {
                let Value::Object(inner) = value else {
                    return Err(ScimError::invalid_value(format!(
                        "{} must be an object",
                        extension.id
                    )));
                };
                for (inner_key, inner_value) in inner {
                    let path = parse_path(&format!("{}:{inner_key}", extension.id))?;
                    resolve_path(resource_type, op, path, Some(inner_value), steps)?;
                }
            }
            // Read-only attributes (`groups`) and passwords are ignored here as in a POST.
            Some(Resolved::Attribute { attribute, .. }) if !doc::is_stored(attribute) => {}
            Some(_) => resolve_path(resource_type, op, parse_path(&key)?, Some(value), steps)?,
        }
    }
    Ok(())
}

fn resolve_path(
    resource_type: &ResourceType,
    op: OpKind,
    path: Path,
    value: Option<Value>,
    steps: &mut Vec<Step>,
) -> ScimResult<()> {
    let resolved = doc::resolve(resource_type, &path.attribute).ok_or_else(|| {
        ScimError::invalid_path(format!("unknown attribute in path {:?}", path.text))
    })?;
    let target = match resolved {
        Resolved::Common("externalId") if path.filter.is_none() => Target::ExternalId,
        Resolved::Common(name) => {
            return Err(ScimError::mutability(format!("{name} is read-only")));
        }
        Resolved::Extension(extension) => {
            if path.filter.is_some() {
                return Err(ScimError::invalid_path(format!("bad path {:?}", path.text)));
            }
            match value {
                _ if op == OpKind::Remove => {
                    steps.push(Step {
                        op,
                        text: path.text,
                        target: Target::Extension(extension),
                        value: None,
                    });
                    return Ok(());
                }
                Some(Value::Object(inner)) => {
                    for (key, value) in inner {
                        let path = parse_path(&format!("{}:{key}", extension.id))?;
                        // Like a value object: unknown keys (e.g. `schemas`) are ignored.
                        if doc::resolve(resource_type, &path.attribute).is_some() {
                            resolve_path(resource_type, op, path, Some(value), steps)?;
                        }
                    }
                    return Ok(());
                }
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "{} takes an object",
                        extension.id
                    )));
                }
            }
        }
        Resolved::Attribute {
            schema,
            attribute,
            sub,
        } => {
            // `name.givenName` resolves with a sub-attribute; `emails[…].value` carries it apart.
            let sub = match (&path.sub, sub) {
                (Some(_), Some(_)) => {
                    return Err(ScimError::invalid_path(format!("bad path {:?}", path.text)));
                }
                (Some(name), None) => {
                    Some(schema::find(attribute.sub_attributes, name).ok_or_else(|| {
                        ScimError::invalid_path(format!("unknown sub-attribute in {:?}", path.text))
                    })?)
                }
                (None, sub) => sub,
            };
            // A password is accepted and dropped, never stored.
            if attribute.returned == Returned::Never {
                return Ok(());
            }
            if attribute.mutability == Mutability::ReadOnly
                || sub.is_some_and(|sub| sub.mutability == Mutability::ReadOnly)
            {
                return Err(ScimError::mutability(format!("{} is read-only", path.text)));
            }
            Target::Attribute {
                schema,
                attribute,
                sub,
                filter: path.filter,
            }
        }
    };
    steps.push(Step {
        op,
        text: path.text,
        target,
        value,
    });
    Ok(())
}
