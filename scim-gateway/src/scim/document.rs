//! Resources as canonical JSON documents: attribute names as the schema spells them (input names
//! are case-insensitive, may be dotted or URN-qualified), values of the schema's types (booleans
//! sent as strings become booleans), unknown and read-only input dropped. PATCH, projection and
//! the conversions to the service's messages all work on this one shape.

use serde_json::{Map, Value};

use super::error::{ScimError, ScimResult};
use super::schema::{self, Attribute, Kind, Mutability, ResourceType, Returned, Schema};

pub(crate) type Object = Map<String, Value>;

/// What an attribute path names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resolved {
    /// `id`, `externalId`, `meta`, `schemas`.
    Common(&'static str),
    /// An extension's URN itself: its attributes as one object.
    Extension(&'static Schema),
    Attribute {
        schema: &'static Schema,
        attribute: &'static Attribute,
        sub: Option<&'static Attribute>,
    },
}

/// Resolves `userName`, `name.givenName`, `urn:…:enterprise:2.0:User:manager.value`, … .
pub(crate) fn resolve(resource_type: &ResourceType, path: &str) -> Option<Resolved> {
    let (schema, rest) = match resource_type.split_urn(path) {
        Some(found) => found,
        None => match resource_type.extension(path) {
            Some(extension) => return Some(Resolved::Extension(extension)),
            None => (resource_type.core, path),
        },
    };
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    if schema.id == resource_type.core.id
        && sub.is_none()
        && let Some(common) = schema::COMMON_ATTRIBUTES
            .iter()
            .find(|common| common.eq_ignore_ascii_case(name))
    {
        return Some(Resolved::Common(common));
    }
    let attribute = schema::find(schema.attributes, name)?;
    let sub = match sub {
        Some(sub) => Some(schema::find(attribute.sub_attributes, sub)?),
        None => None,
    };
    Some(Resolved::Attribute {
        schema,
        attribute,
        sub,
    })
}

fn type_error(path: &str, expected: &str, value: &Value) -> ScimError {
    let found = match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    ScimError::invalid_value(format!("{path} must be {expected}, not {found}"))
}

/// One value of a single-valued attribute (or one element of a multi-valued one).
pub(crate) fn coerce_single(attribute: &Attribute, value: Value, path: &str) -> ScimResult<Value> {
    match (attribute.kind, value) {
        (_, Value::Null) => Ok(Value::Null),
        (Kind::String | Kind::Reference | Kind::Binary, Value::String(text)) => {
            Ok(Value::String(text))
        }
        // Employee numbers and the like arrive as JSON numbers from some clients.
        (Kind::String, Value::Number(number)) => Ok(Value::String(number.to_string())),
        (Kind::Boolean, Value::Bool(flag)) => Ok(Value::Bool(flag)),
        (Kind::Boolean, Value::String(text)) => {
            parse_bool(&text).map(Value::Bool).ok_or_else(|| {
                ScimError::invalid_value(format!("{path} must be true or false, not {text:?}"))
            })
        }
        (Kind::Complex, Value::Object(object)) => {
            let mut canonical = Object::new();
            for (key, value) in object {
                let Some(sub) = schema::find(attribute.sub_attributes, &key) else {
                    continue;
                };
                let value = coerce_single(sub, value, &format!("{path}.{}", sub.name))?;
                if !value.is_null() {
                    canonical.insert(sub.name.to_owned(), value);
                }
            }
            Ok(Value::Object(canonical))
        }
        (Kind::String | Kind::Reference | Kind::Binary, other) => {
            Err(type_error(path, "a string", &other))
        }
        (Kind::Boolean, other) => Err(type_error(path, "a boolean", &other)),
        (Kind::Complex, other) => Err(type_error(path, "an object", &other)),
    }
}

/// A whole attribute value: multi-valued attributes become arrays (a lone element is accepted).
pub(crate) fn coerce(attribute: &Attribute, value: Value, path: &str) -> ScimResult<Value> {
    if !attribute.multi_valued {
        return coerce_single(attribute, value, path);
    }
    let elements = match value {
        Value::Null => return Ok(Value::Null),
        Value::Array(elements) => elements,
        single => vec![single],
    };
    let mut canonical = Vec::with_capacity(elements.len());
    for element in elements {
        let element = coerce_single(attribute, element, path)?;
        if !element.is_null() {
            canonical.push(element);
        }
    }
    Ok(Value::Array(canonical))
}

/// Runs `change` on the object that holds `schema`'s attributes: the document itself for the
/// core schema, the extension's object (created on demand) otherwise.
pub(crate) fn in_container<T>(
    document: &mut Object,
    resource_type: &ResourceType,
    schema: &Schema,
    change: impl FnOnce(&mut Object) -> T,
) -> T {
    if schema.id == resource_type.core.id {
        return change(document);
    }
    let mut extension = match document.remove(schema.id) {
        Some(Value::Object(object)) => object,
        _ => Object::new(),
    };
    let result = change(&mut extension);
    document.insert(schema.id.to_owned(), Value::Object(extension));
    result
}

/// Drops empty extension objects and empty complex values so that documents compare and render
/// cleanly.
pub(crate) fn tidy(document: &mut Object, resource_type: &ResourceType) {
    for extension in resource_type.extensions {
        if document
            .get(extension.id)
            .is_some_and(|value| value.as_object().is_none_or(Object::is_empty))
        {
            document.remove(extension.id);
        }
    }
    document.retain(|_, value| !value.is_null());
}

/// Whether a client's value of `attribute` is kept: read-only attributes are the service's to
/// set, and passwords are never stored.
pub(crate) fn is_stored(attribute: &Attribute) -> bool {
    attribute.mutability != Mutability::ReadOnly && attribute.returned != Returned::Never
}

/// A full resource sent by a client (POST, PUT) in canonical form. Read-only common attributes
/// (`id`, `meta`, `schemas`) and unknown attributes are dropped; the caller checks `id` first.
pub(crate) fn canonicalize(resource_type: &ResourceType, input: Object) -> ScimResult<Object> {
    let mut document = Object::new();
    for (key, value) in input {
        match resolve(resource_type, &key) {
            None => {}
            Some(Resolved::Common("externalId")) => match value {
                Value::String(_) | Value::Null => {
                    document.insert("externalId".into(), value);
                }
                other => return Err(type_error("externalId", "a string", &other)),
            },
            Some(Resolved::Common(_)) => {}
            Some(Resolved::Extension(extension)) => {
                let Value::Object(object) = value else {
                    if value.is_null() {
                        continue;
                    }
                    return Err(type_error(extension.id, "an object", &value));
                };
                for (key, value) in object {
                    let path = format!("{}:{key}", extension.id);
                    if let Some(Resolved::Attribute {
                        schema,
                        attribute,
                        sub,
                    }) = resolve(resource_type, &path)
                    {
                        set(&mut document, resource_type, schema, attribute, sub, value)?;
                    }
                }
            }
            Some(Resolved::Attribute { attribute, .. }) if !is_stored(attribute) => {}
            Some(Resolved::Attribute {
                schema,
                attribute,
                sub,
            }) => set(&mut document, resource_type, schema, attribute, sub, value)?,
        }
    }
    tidy(&mut document, resource_type);
    Ok(document)
}

/// Sets an attribute (or one sub-attribute of a complex one), merging complex values.
fn set(
    document: &mut Object,
    resource_type: &ResourceType,
    schema: &Schema,
    attribute: &Attribute,
    sub: Option<&Attribute>,
    value: Value,
) -> ScimResult<()> {
    in_container(document, resource_type, schema, |object| {
        set_in(object, attribute, sub, value)
    })
}

fn set_in(
    object: &mut Object,
    attribute: &Attribute,
    sub: Option<&Attribute>,
    value: Value,
) -> ScimResult<()> {
    match sub {
        None => {
            let value = coerce(attribute, value, attribute.name)?;
            match (object.get_mut(attribute.name), value) {
                (Some(Value::Object(existing)), Value::Object(new)) if !attribute.multi_valued => {
                    existing.extend(new);
                }
                (_, value) => {
                    object.insert(attribute.name.to_owned(), value);
                }
            }
        }
        Some(sub) if !attribute.multi_valued => {
            let path = format!("{}.{}", attribute.name, sub.name);
            let value = coerce_single(sub, value, &path)?;
            let slot = object
                .entry(attribute.name.to_owned())
                .or_insert_with(|| Value::Object(Object::new()));
            if let Value::Object(existing) = slot {
                existing.insert(sub.name.to_owned(), value);
            } else {
                *slot = Value::Object(Object::from_iter([(sub.name.to_owned(), value)]));
            }
        }
        Some(sub) => {
            return Err(ScimError::invalid_path(format!(
                "{}.{} names a sub-attribute of every element; use a value filter",
                attribute.name, sub.name
            )));
        }
    }
    Ok(())
}

/// Applies `attributes=` / `excludedAttributes=` (RFC 7644 §3.9) to a rendered resource. `id`
/// and `schemas` are always returned.
pub(crate) fn project(
    document: Object,
    resource_type: &ResourceType,
    attributes: &[String],
    excluded: &[String],
) -> Object {
    if attributes.is_empty() && excluded.is_empty() {
        return document;
    }
    if !attributes.is_empty() {
        let mut projected = Object::new();
        for always in ["schemas", "id"] {
            if let Some(value) = document.get(always) {
                projected.insert(always.to_owned(), value.clone());
            }
        }
        for path in attributes {
            copy_path(&document, &mut projected, resource_type, path);
        }
        return projected;
    }
    let mut document = document;
    for path in excluded {
        remove_path(&mut document, resource_type, path);
    }
    tidy(&mut document, resource_type);
    document
}

fn copy_path(from: &Object, to: &mut Object, resource_type: &ResourceType, path: &str) {
    match resolve(resource_type, path) {
        None => {}
        Some(Resolved::Common(name)) => {
            if let Some(value) = from.get(name) {
                to.insert(name.to_owned(), value.clone());
            }
        }
        Some(Resolved::Extension(extension)) => {
            if let Some(value) = from.get(extension.id) {
                to.insert(extension.id.to_owned(), value.clone());
            }
        }
        Some(Resolved::Attribute {
            schema,
            attribute,
            sub,
        }) => {
            let source = if schema.id == resource_type.core.id {
                Some(from)
            } else {
                from.get(schema.id).and_then(Value::as_object)
            };
            let Some(value) = source.and_then(|source| source.get(attribute.name)) else {
                return;
            };
            let picked = match sub {
                None => value.clone(),
                Some(sub) => pick_sub(value, sub.name),
            };
            in_container(to, resource_type, schema, |target| {
                match (target.get_mut(attribute.name), picked) {
                    (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
                    (Some(Value::Array(existing)), Value::Array(new)) => {
                        // Two sub-attributes of one multi-valued attribute: merge element-wise.
                        for (slot, element) in existing.iter_mut().zip(new) {
                            if let (Value::Object(slot), Value::Object(element)) = (slot, element) {
                                slot.extend(element);
                            }
                        }
                    }
                    (_, picked) => {
                        target.insert(attribute.name.to_owned(), picked);
                    }
                }
            });
        }
    }
}

fn pick_sub(value: &Value, sub: &str) -> Value {
    let pick = |element: &Value| {
        let mut picked = Object::new();
        if let Some(found) = element.get(sub) {
            picked.insert(sub.to_owned(), found.clone());
        }
        Value::Object(picked)
    };
    match value {
        Value::Array(elements) => Value::Array(elements.iter().map(pick).collect()),
        other => pick(other),
    }
}

fn remove_path(document: &mut Object, resource_type: &ResourceType, path: &str) {
    match resolve(resource_type, path) {
        None | Some(Resolved::Common("id" | "schemas")) => {}
        Some(Resolved::Common(name)) => {
            document.remove(name);
        }
        Some(Resolved::Extension(extension)) => {
            document.remove(extension.id);
        }
        Some(Resolved::Attribute {
            schema,
            attribute,
            sub,
        }) => {
            let holder = if schema.id == resource_type.core.id {
                Some(document)
            } else {
                document.get_mut(schema.id).and_then(Value::as_object_mut)
            };
            let Some(holder) = holder else { return };
            match sub {
                None => {
                    holder.remove(attribute.name);
                }
                Some(sub) => remove_sub_attribute(holder, attribute.name, sub.name),
            }
        }
    }
}

/// Removes sub-attribute `sub` of `name`: from its object, or from every element of its array.
pub(crate) fn remove_sub_attribute(holder: &mut Object, name: &str, sub: &str) {
    match holder.get_mut(name) {
        Some(Value::Object(object)) => {
            object.remove(sub);
        }
        Some(Value::Array(elements)) => {
            for element in elements.iter_mut().filter_map(Value::as_object_mut) {
                element.remove(sub);
            }
        }
        _ => {}
    }
}

/// A comma-separated attribute list from a query parameter.
pub(crate) fn attribute_list(raw: Option<&str>) -> Vec<String> {
    raw.map(|raw| {
        raw.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// Whether `attributes=` names `name` (an attribute of the core schema, e.g. `groups`).
pub(crate) fn requested(attributes: &[String], resource_type: &ResourceType, name: &str) -> bool {
    attributes.iter().any(|path| {
        matches!(
            resolve(resource_type, path),
            Some(Resolved::Attribute { attribute, .. }) if attribute.name == name
        )
    })
}

/// `true` / `false` in any case: SCIM clients send booleans as strings too.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}
